"""The scraper's access rule and the JSON log lines (contract.metrics, contract.logs)."""

from __future__ import annotations

import json
import logging
import sys

from contract.logs import JsonFormatter
from contract.metrics import allowed

TOKEN = "scrape-" + "k" * 32


def test_without_a_token_only_loopback_may_scrape() -> None:
    assert allowed("127.0.0.1", "", None)
    assert allowed("::1", "", None)
    assert not allowed("10.0.0.5", "", None)
    assert not allowed("192.168.1.9", f"Bearer {TOKEN}", None)
    assert not allowed(None, "", None)
    assert not allowed("not-an-address", "", None)


def test_with_a_token_only_its_bearer_may_scrape_even_on_loopback() -> None:
    assert allowed("10.0.0.5", f"Bearer {TOKEN}", TOKEN)
    assert allowed("10.0.0.5", f"bearer {TOKEN}", TOKEN)
    assert not allowed("127.0.0.1", "", TOKEN)
    assert not allowed("127.0.0.1", f"Bearer {TOKEN}x", TOKEN)
    assert not allowed("127.0.0.1", TOKEN, TOKEN)
    assert not allowed("127.0.0.1", "Bearer 张三", TOKEN)


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("requests", logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_a_log_record_is_one_json_line_with_its_extras() -> None:
    line = JsonFormatter().format(_record("GET /health 200", request_id="r1",
                                          operation_id="health", status=200,
                                          duration_ms=1.5))
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["message"] == "GET /health 200" and fields["level"] == "info"
    assert {k: fields[k] for k in ("request_id", "operation_id", "status", "duration_ms")} \
        == {"request_id": "r1", "operation_id": "health", "status": 200, "duration_ms": 1.5}


def test_an_error_keeps_its_traceback_inside_the_one_line() -> None:
    try:
        raise RuntimeError("数据库\n不可用")
    except RuntimeError:
        record = logging.LogRecord("problems", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())
    record.request_id = "r2"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["request_id"] == "r2" and "RuntimeError: 数据库" in fields["exception"]


def test_tracing_is_off_and_imports_nothing_without_an_endpoint(monkeypatch) -> None:
    from contract import tracing

    monkeypatch.delenv(tracing.ENDPOINT, raising=False)
    loaded = {name for name in sys.modules if name.startswith("opentelemetry")}
    assert tracing.plugins("ledger") == []
    assert {name for name in sys.modules if name.startswith("opentelemetry")} == loaded


def test_tracing_without_the_packages_warns_and_serves_on(monkeypatch, caplog) -> None:
    from contract import tracing

    monkeypatch.setenv(tracing.ENDPOINT, "http://127.0.0.1:4318")
    # As on a machine without them: the import fails.
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with caplog.at_level(logging.WARNING, logger="tracing"):
        assert tracing.plugins("reports") == []
    assert "OpenTelemetry is not installed" in caplog.text
