"""Every 2xx response declares a typed schema, so the client generated from /openapi.json is
typed: an operation answering an untyped object (`{}`, `object` with no properties) fails."""

from __future__ import annotations

from typing import Any

from qts.api.app import create_app
from tests.api.conftest import make_settings

# Fields that are free-form by nature ("Model.field"): a strategy's parameter values (each
# strategy declares its own), its saved runtime state, audit details and log data.
FREE_FORM = {
    "BacktestRunOut.params",
    "BacktestRunOut.request",
    "BacktestResultOut.config",
    "BacktestResultOut.params",
    "FeatureDefinitionOut.params",
    "FeatureUseOut.params",
    "JobRunOut.result",
    "OptimizationRequest.params",
    "OrderEventRecord.details",
    "OrderRecord.meta",
    "OrderDetail.meta",
    "PromotionOut.gate",
    "StrategyRecord.parameters",
    "StrategyRecord.runtime_state",
    "TrainingLogOut.data",
    "TrainingRunOut.params",
    "TrainingRunSummary.params",
}


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = ""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return name, schema


def is_untyped(schema: dict[str, Any]) -> bool:
    """No type at all, or an object with neither properties nor a typed value schema."""
    if not schema:
        return True
    if any(k in schema for k in ("$ref", "enum", "const")):
        return False
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        return any(is_untyped(v) for v in variants if v.get("type") != "null")
    kind = schema.get("type")
    if kind is None:
        return "allOf" not in schema
    if kind == "object":
        extra = schema.get("additionalProperties")
        return not schema.get("properties") and not (isinstance(extra, dict) and extra)
    if kind == "array":
        return not schema.get("items")
    return False


def untyped_parts(spec: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """Every untyped object or value inside `schema`, named by where it sits."""
    problems: list[str] = []
    seen: set[str] = set()

    def walk(node: dict[str, Any], at: str, owner: str) -> None:
        name, node = resolve(spec, node)
        if name in seen:
            return
        if is_untyped(node):
            problems.append(f"{where}: {at} is untyped")
            return
        if name:
            seen.add(name)
            owner, at = name, name
        for variant in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
            if variant.get("type") != "null":
                walk(variant, at, owner)
        for field, sub in node.get("properties", {}).items():
            if f"{owner}.{field}" not in FREE_FORM:
                walk(sub, f"{owner}.{field}", owner)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{at}{{}}", owner)
        if node.get("type") == "array":
            walk(node.get("items", {}), f"{at}[]", owner)

    walk(schema, "body", "")
    return problems


def untyped_responses(spec: dict[str, Any]) -> list[str]:
    problems = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for code, response in op.get("responses", {}).items():
                if not code.startswith("2") or code == "204":
                    continue
                where = f"{method.upper()} {path} {code}"
                content = response.get("content", {}).get("application/json")
                if content is None:
                    problems.append(f"{where}: no JSON schema")
                    continue
                problems += untyped_parts(spec, content.get("schema", {}), where)
    return problems


def test_every_2xx_response_has_a_typed_schema(tmp_path: Any) -> None:
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'qts.db'}"))
    spec = app.openapi()
    problems = untyped_responses(spec)
    assert not problems, "operations without a typed 2xx schema:\n" + "\n".join(problems)


def test_the_check_catches_untyped_bodies() -> None:
    spec: dict[str, Any] = {
        "components": {"schemas": {"Free": {"type": "object"}}},
        "paths": {
            "/a": {
                "get": {"responses": {"200": {"content": {"application/json": {"schema": {}}}}}}
            },
            "/b": {"get": {"responses": {"200": {"description": "x"}}}},
            "/c": {
                "post": {
                    "responses": {
                        "201": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Free"},
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "/d": {"delete": {"responses": {"204": {"description": "gone"}}}},
            "/e": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "ok": {"type": "boolean"},
                                            "blob": {
                                                "anyOf": [{"type": "object"}, {"type": "null"}]
                                            },
                                        },
                                    }
                                }
                            }
                        }
                    }
                }
            },
        },
    }
    assert [p.split(" ")[1] for p in untyped_responses(spec)] == ["/a", "/b", "/c", "/e"]
