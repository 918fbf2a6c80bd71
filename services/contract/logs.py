"""JSON logs, one object a line on stderr, for the services' servers (`contract.serving`).

Every record carries its time, level, logger and message; the request log (`contract.
observe`) adds the request id, operation, status and duration, and an error logged while
answering a request (`contract.door`) its request id.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# The attributes every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message",
                                                                            "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((key, value) for key, value in vars(record).items()
                    if key not in _STANDARD and not key.startswith("_"))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def uvicorn_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's `log_config`: every logger (uvicorn's own included) as JSON on stderr; each
    worker process applies it when it starts."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "contract.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {"uvicorn": {"handlers": [], "propagate": True},
                    "uvicorn.error": {"handlers": [], "propagate": True},
                    # contract.observe logs each request; uvicorn's access log would repeat it.
                    "uvicorn.access": {"handlers": [], "propagate": False},
                    # Its plugin set-up says nothing an operator needs.
                    "alembic": {"level": "WARNING"}},
    }
