"""Print the API's OpenAPI document as JSON without starting a server (the dashboard's
`npm run gen:api` turns it into typed client code): `python -m qts.api.openapi_dump`."""

from __future__ import annotations

import json
import sys


def main() -> None:
    from qts.api.app import create_app

    json.dump(create_app().openapi(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
