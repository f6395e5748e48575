"""Structured logging with a correlation id per request.

The id is kept in a context variable by the HTTP edge, stamped on every record logged
while handling the request, and returned to clients in ``extensions.correlation_id``
so an error report can be matched to the server's log line.

Every ``extra`` field of a record is part of the line in both formats -- one JSON
object per line, or ``key=value`` pairs after the message for humans -- whatever its
type: a log line that cannot be written is worst exactly when it matters (the
metering ERROR at a shutdown during an outage carries a dict keyed by integers).
Values JSON has no form for are converted (sets to sorted lists, bytes to text,
exceptions to ``Type: message``, anything else to ``str``); if even that fails, the
line is still written with the message and the reason its fields were dropped.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["configure_logging", "correlation_id", "json_safe", "log_fields"]

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "correlation_id",
    "taskName",  # Python 3.12+ stamps it on every record
}
_OPTIONS = orjson.OPT_NON_STR_KEYS
_AMBIGUOUS = re.compile(r"^$|[\s\"'=]")
_MAX_DEPTH = 20


def log_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's ``extra`` fields, in the order they were given."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


def _default(value: Any) -> Any:
    """orjson's fallback for the types it has no JSON form for."""
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)
        except TypeError:
            return sorted(value, key=repr)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return str(value)


def json_safe(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` orjson always accepts (the slow path, after it refused)."""
    if depth > _MAX_DEPTH:
        return "..."
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, Mapping):
        return {str(json_safe(k, depth + 1)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return [json_safe(v, depth + 1) for v in _default(value)]
    if isinstance(value, datetime):
        return value.isoformat()
    return json_safe(_default(value), depth + 1)


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return orjson.dumps(json_safe(value), option=_OPTIONS).decode()


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", None)
        if cid:
            payload["correlation_id"] = cid
        for key, value in log_fields(record).items():
            payload.setdefault(key, value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        try:
            return _dumps(payload)
        except Exception as exc:  # never lose the line itself
            fallback = {k: payload[k] for k in ("ts", "level", "logger", "msg")}
            fallback["log_error"] = f"fields dropped: {type(exc).__name__}: {exc}"
            return orjson.dumps(json_safe(fallback)).decode()


def _text_value(value: Any) -> str:
    """``value`` as one token of a ``key=value`` pair: quoted when it would be ambiguous."""
    try:
        if isinstance(value, str) and value.isprintable() and not _AMBIGUOUS.search(value):
            return value
        return _dumps(value)  # JSON: quoted strings, {"1": 2}, [1, 2], null, true
    except Exception as exc:  # never lose the line itself
        return _dumps(f"<not printable: {type(exc).__name__}>")


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        pairs = [f"{key}={_text_value(value)}" for key, value in log_fields(record).items()]
        if pairs:
            line = f"{line} {' '.join(pairs)}"
        cid = getattr(record, "correlation_id", None)
        if cid:
            line = f"{line} [cid={cid}]"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = correlation_id.get()
        return True


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    """Route Tallyboard's and uvicorn's records through one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_CorrelationFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Access logs duplicate our own request log and cost ~10% throughput.
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic narrates every migration check at INFO; only its warnings matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
