"""`infra/compose.yaml` against the compose specification's JSON schema (vendored in
infra/compose-spec/), and the configuration documented in one place: every variable the
services read, and every one compose sets, is in docs/operations.md's table. Nothing is
built or started: this machine has no container engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "infra" / "compose.yaml"
SCHEMA = ROOT / "infra" / "compose-spec" / "compose-spec.json"
OPERATIONS = ROOT / "docs" / "operations.md"
# Variables a service reads: os.environ.get("X" …), os.environ["X"], or a named constant.
# os.environ reads, the page secrets' reader (`secret("NAME")`), and module constants that
# name a variable (`KEY = "LEDGER_SEAL_KEY"`: every one of ours has an underscore).
_READS = re.compile(r"""environ(?:\.get\(|\[)\s*"([A-Z][A-Z0-9_]+)"|"""
                    r"""^[A-Z_]+ = "([A-Z][A-Z0-9]*_[A-Z0-9_]+)"$|"""
                    r"""secret\(\s*"([A-Z][A-Z0-9_]+)"\)""", re.MULTILINE)
# Set for the database server's image or by the image itself, not read by our code.
NOT_OURS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _documented() -> set[str]:
    """The first column of the table under "## Configuration" in docs/operations.md."""
    section = OPERATIONS.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {name for row in section.splitlines() if row.startswith("| `")
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_compose_file_is_valid_against_the_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(_compose())


def test_the_schema_refuses_what_compose_would_refuse() -> None:
    """The check can fail: a misspelt key and a wrong type are refused."""
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    broken = _compose()
    broken["services"]["ledger"]["healthcheck"]["retry"] = 3
    assert not validator.is_valid(broken)
    broken = _compose()
    broken["services"]["ledger"]["depends_on"] = "migrate"
    assert not validator.is_valid(broken)


def test_services_wait_for_the_migration_job_and_have_readiness_checks() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "migrate", "ledger", "reports"}
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("ledger", "reports"):
        assert services[name]["depends_on"]["migrate"]["condition"] \
            == "service_completed_successfully"
        assert "/ready" in " ".join(services[name]["healthcheck"]["test"])
    assert "pgdata" in _compose()["volumes"]


def test_every_variable_is_documented_in_one_table() -> None:
    documented = _documented()
    read = {m[0] or m[1] or m[2] for path in (ROOT / "services").rglob("*.py")
            for m in _READS.findall(path.read_text())}
    assert read, "found no variable read by the services"
    assert not read - documented, f"read but not in docs/operations.md: {read - documented}"
    compose_sets = {key for service in _compose()["services"].values()
                    for key in service.get("environment", {})} - NOT_OURS
    assert not compose_sets - documented, \
        f"set in compose.yaml but not documented: {compose_sets - documented}"
