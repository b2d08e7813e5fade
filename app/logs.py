"""Logs as JSON, one object a line, so that a log collector can read them without parsing
free text; and the request id of the request being served, added to every line logged
while serving it."""

import logging
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

ACCESS_LOGGER = "newsdesk.access"

request_id_var: ContextVar[str | None] = ContextVar("newsdesk_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came in through ``extra=``
# (but for uvicorn's copy of each message with terminal colour codes).
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class JSONFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...extra fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return orjson.dumps(entry, default=str).decode()


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` mapping: every logger, uvicorn's included, writes
    JSON lines to standard output. uvicorn's own access log is left off: the request
    middleware writes a richer line (route template, request id, duration)."""
    level_name = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JSONFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["stdout"], "level": level_name},
        "loggers": {
            "newsdesk": {"level": level_name},
            "uvicorn": {"level": level_name},
            "uvicorn.access": {"handlers": [], "propagate": False},
            # One line per webhook attempt comes from newsdesk.webhooks, with its outcome.
            "httpx": {"level": "WARNING"},
        },
    }
