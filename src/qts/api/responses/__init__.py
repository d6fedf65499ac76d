"""Response models of the API: every 2xx body has a declared schema, so the client generated
from /openapi.json is typed (tests/api/test_openapi_types.py). Grouped by router."""
