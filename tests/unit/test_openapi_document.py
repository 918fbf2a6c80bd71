"""Both services' OpenAPI documents declare the bearer scheme on every operation that
needs a token, and the problem details every operation may answer."""

from __future__ import annotations

import pytest
from litestar import Litestar

from ledger.config import Settings as LedgerSettings
from ledger.entrypoints.app import create_app as ledger_app
from reports.config import Settings as ReportsSettings
from reports.entrypoints.app import create_app as reports_app

NOWHERE = "postgresql://nobody@127.0.0.1:1/none"  # building the schema reads no database
PUBLIC = {"health", "ready", "getPublicHonorRoll", "getPublicHonorRollPage",
          "verifyCertificate"}


@pytest.fixture(params=["ledger", "reports"])
def schema(request: pytest.FixtureRequest) -> dict:
    app: Litestar = (ledger_app(LedgerSettings(database_url=NOWHERE))
                     if request.param == "ledger"
                     else reports_app(ReportsSettings(database_url=NOWHERE)))
    return app.openapi_schema.to_schema()


def _operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, item in schema["paths"].items()
            for method, op in item.items() if method in ("get", "post", "put", "delete")]


def test_the_bearer_scheme_and_the_problem_schema_are_components(schema: dict) -> None:
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "lt_<token id>_<secret>"}
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code", "field"} <= set(problem["properties"])


def test_every_operation_says_who_may_call_it_and_how_it_refuses(schema: dict) -> None:
    operations = _operations(schema)
    assert len(operations) > 10
    for path, method, op in operations:
        statuses = set(op["responses"])
        assert {"400", "422", "503"} <= statuses, (path, method)
        # Readiness answers 503 with its own body, saying which check failed.
        own = {"503"} if op["operationId"] == "ready" else set()
        for status in statuses - {"200", "201", "204"} - own:
            content = op["responses"][status]["content"]
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"}, (path, method, status)
        if "{" in path:
            assert "404" in statuses, (path, method)
        if op["security"]:
            assert op["security"] == [{"bearer": []}]
            assert {"401", "403"} <= statuses, (path, method)
        else:
            assert op["operationId"] in PUBLIC, (path, method)
