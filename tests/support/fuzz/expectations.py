"""Each endpoint's documented answers, as checks of one fuzzed exchange.

``Recorder.common`` already checks what every answer owes (no 5xx, in time, no leak,
JSON with a correlation id); these check the endpoint's own contract: the documented
shape and codes (spec §5, §7; docs/ingest.md, docs/admin-apply.md, RFC 6749 §5), and
what the strategy knows of the expected outcome (a good credential is never refused, a
bad one never executes; a parseable batch accounts for every event; valid fresh events
are accepted).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from typing import Any

from tests.support.fuzz.checks import Answer, Problem, Sent

__all__ = ["check_apply", "check_graphql", "check_ingest", "check_oauth"]

MAX_ORG_UUIDS = 25

GRAPHQL_REFUSALS = {
    "UNAUTHORIZED": {401},
    "GRAPHQL_PARSE_FAILED": {400},
    "GRAPHQL_VALIDATION_FAILED": {400},
    "QUERY_TOO_COMPLEX": {400},
    "INVALID_INPUT": {400},
    "BAD_REQUEST": {400, 413},
    "RATE_LIMITED": {429},
}
"""Request-level error codes (spec §7) and the statuses they come with."""
GRAPHQL_FIELD_CODES = {"PERMISSION_DENIED", "INVALID_INPUT", "GRAPHQL_VALIDATION_FAILED"}
"""Codes a field error of an executed request (HTTP 200) may carry."""
INTERNAL = "INTERNAL_SERVER_ERROR"


def _errors_of(body: Mapping[str, Any]) -> Iterator[tuple[str | None, Any, Any]]:
    """(code, message, correlation id) of each entry of ``errors``."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return
    for entry in errors:
        extensions = entry.get("extensions") if isinstance(entry, dict) else None
        if not isinstance(extensions, dict):
            yield None, None, None
            continue
        yield extensions.get("code"), entry.get("message"), extensions.get("correlation_id")


def check_graphql(sent: Sent, answer: Answer) -> Iterator[Problem]:
    body = answer.json
    if not isinstance(body, dict):
        return
    cid = answer.headers.get("x-correlation-id")
    if answer.status == 200:
        if "data" not in body:
            yield Problem("shape: 200 without data", answer.text[:200])
    elif not body.get("errors"):
        yield Problem("shape: refusal without errors", answer.text[:200])
    for code, message, correlation in _errors_of(body):
        if code == INTERNAL:
            if answer.status < 500:  # a 5xx is reported as such already
                yield Problem("INTERNAL_SERVER_ERROR in errors", str(message))
            continue
        if not isinstance(message, str) or not message:
            yield Problem("shape: error without message")
        if correlation != cid:
            yield Problem("shape: correlation_id differs from the header", f"{correlation!r}")
        if answer.status == 200 and code not in GRAPHQL_FIELD_CODES:
            yield Problem("shape: unexpected field error code", f"{code!r}")
        if answer.status != 200 and answer.status not in GRAPHQL_REFUSALS.get(str(code), ()):
            yield Problem("shape: status does not match the code", f"{answer.status} {code!r}")
    yield from _graphql_expectations(sent, answer)


def _graphql_expectations(sent: Sent, answer: Answer) -> Iterator[Problem]:
    auth_ok = bool(sent.context.get("auth_ok"))
    if auth_ok and answer.status == 401:
        yield Problem("a valid credential was refused (401)")
    # A bad credential is refused: 401, or a refusal of the request's shape that needs no
    # credential to decide (400, 413) -- never an execution, never a 403 or a 429.
    if not auth_ok and answer.status not in (400, 401, 413) and answer.status < 500:
        yield Problem("a bad credential was not refused", f"HTTP {answer.status}")
    uuids = sent.context.get("uuids")
    if auth_ok and isinstance(uuids, int):
        codes = {code for code, _, _ in _errors_of(answer.json)}
        if uuids > MAX_ORG_UUIDS and (answer.status != 400 or codes != {"QUERY_TOO_COMPLEX"}):
            yield Problem(
                "UUID budget not enforced", f"{uuids} UUIDs answered HTTP {answer.status}"
            )
        if uuids <= MAX_ORG_UUIDS and answer.status != 200:
            yield Problem("UUID budget refused a document within it", f"{uuids} UUIDs")


INGEST_CODES = {
    "INVALID_EVENT",
    "UNKNOWN_ORGANIZATION",
    "FORBIDDEN_ORGANIZATION",
    "OUT_OF_WINDOW",
    "CONFLICT",
}
_CODE = re.compile(r"^[A-Z][A-Z_]+$")


def check_ingest(sent: Sent, answer: Answer) -> Iterator[Problem]:
    """docs/ingest.md: the status the body and credential call for; for a 200, one
    outcome per event (accepted + duplicates + rejected = batch size), each rejection
    well formed and each event's outcome the one the strategy expects."""
    expected = sent.context["status"]
    if answer.status != expected and answer.status < 500:
        yield Problem(f"HTTP {answer.status} where {expected} was expected")
    body = answer.json
    if not isinstance(body, dict):
        return
    if answer.status != 200:
        yield from _error_shape(body, answer)
        return
    if set(body) != {"accepted", "duplicates", "rejected"}:
        yield Problem("shape: result keys", repr(sorted(body)))
        return
    accepted, duplicates, rejected = body["accepted"], body["duplicates"], body["rejected"]
    if not (_count(accepted) and _count(duplicates) and isinstance(rejected, list)):
        yield Problem("shape: result types", answer.text[:200])
        return
    size = sent.context["size"]
    if accepted + duplicates + len(rejected) != size:
        yield Problem(
            "accepted + duplicates + rejected differs from the batch size",
            f"{accepted} + {duplicates} + {len(rejected)} != {size}",
        )
    items = sent.context.get("items")
    by_index = yield from _rejections(rejected, size, items)
    if items is not None:
        yield from _outcomes(items, by_index, accepted, duplicates)


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _error_shape(body: Mapping[str, Any], answer: Answer) -> Iterator[Problem]:
    """``{"error": {"code", "message", "correlation_id"}}`` (docs, spec §7)."""
    error = body.get("error")
    if not isinstance(error, dict):
        yield Problem("shape: error body", answer.text[:200])
        return
    if not isinstance(error.get("message"), str) or not error.get("message"):
        yield Problem("shape: error without message", answer.text[:200])
    if error.get("correlation_id") != answer.headers.get("x-correlation-id"):
        yield Problem("shape: correlation_id differs from the header")
    code = error.get("code")
    if (
        not isinstance(code, str)
        or not _CODE.match(code)
        or (answer.status == 401) != (code == "UNAUTHORIZED")
    ):
        yield Problem(f"shape: HTTP {answer.status} with code {code!r}")


def _rejections(
    rejected: list[Any], size: int, items: list[Any] | None
) -> Generator[Problem, None, dict[int, dict[str, Any]]]:
    """Each rejection's shape; returns them by index (a generator's return value)."""
    by_index: dict[int, dict[str, Any]] = {}
    for entry in rejected:
        if not isinstance(entry, dict) or set(entry) != {"index", "id", "code", "message"}:
            yield Problem("shape: rejection keys", repr(entry)[:200])
            continue
        index = entry["index"]
        if type(index) is not int or not 0 <= index < size or index in by_index:
            yield Problem("shape: rejection index out of range or repeated", repr(entry)[:200])
            continue
        by_index[index] = entry
        if entry["code"] not in INGEST_CODES:
            yield Problem("shape: unknown rejection code", repr(entry["code"]))
        if not isinstance(entry["message"], str) or not entry["message"]:
            yield Problem("shape: rejection without message", repr(entry)[:200])
        own_id = items[index][2] if items is not None else None
        if entry["id"] is not None and (items is not None and entry["id"] != own_id):
            yield Problem("shape: rejection id is not the event's id", repr(entry)[:200])
    if [e["index"] for e in rejected if isinstance(e, dict)] != sorted(by_index):
        yield Problem("shape: rejections not in index order")
    return by_index


def _outcomes(
    items: list[Any], by_index: Mapping[int, Mapping[str, Any]], accepted: int, duplicates: int
) -> Iterator[Problem]:
    for index, (expect, label, _, event) in enumerate(items):
        entry = by_index.get(index)
        got = "stored" if entry is None else str(entry["code"])
        wrong = got != expect if expect not in ("accepted", "duplicate") else entry is not None
        if expect != "any" and wrong:
            message = "" if entry is None else f" ({str(entry['message'])[:200]})"
            yield Problem(
                f"{label}: expected {expect}, got {got}", f"[{index}] {event[:300]}{message}"
            )
    want_accepted = sum(1 for item in items if item[0] == "accepted")
    want_duplicates = sum(1 for item in items if item[0] == "duplicate")
    if accepted < want_accepted:
        yield Problem("fewer accepted than fresh valid events", f"{accepted} < {want_accepted}")
    if duplicates < want_duplicates:
        yield Problem("fewer duplicates than replays", f"{duplicates} < {want_duplicates}")


RFC6749_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
}


def check_oauth(sent: Sent, answer: Answer) -> Iterator[Problem]:
    """RFC 6749 §4.4 and §5: a token only for exactly right credentials; otherwise 400 or
    401 with ``error`` and ``error_description`` (429 with ``Retry-After`` if throttled)."""
    ok = bool(sent.context.get("ok"))
    allowed = {200, 429} if ok else {400, 401, 429}
    if answer.status not in allowed and answer.status < 500:
        yield Problem(f"HTTP {answer.status} where {sorted(allowed)} was expected")
    body = answer.json
    if not isinstance(body, dict):
        return
    if answer.status == 200:
        token, kind, lifetime = (body.get(k) for k in ("access_token", "token_type", "expires_in"))
        if not (isinstance(token, str) and token and kind == "Bearer" and _count(lifetime)):
            yield Problem("shape: token response", answer.text[:200])
    elif answer.status in (400, 401) and (
        body.get("error") not in RFC6749_ERRORS
        or not isinstance(body.get("error_description"), str)
    ):
        yield Problem("shape: RFC 6749 error", answer.text[:200])
    if answer.status == 401 and "www-authenticate" not in answer.headers:
        yield Problem("401 without WWW-Authenticate")
    if answer.status == 429 and "retry-after" not in answer.headers:
        yield Problem("429 without Retry-After")


def check_apply(sent: Sent, answer: Answer) -> Iterator[Problem]:
    """docs/admin-apply.md: the secrets created (200) or every problem with its path
    (422 ``INVALID_INPUT``); 400 for a body that is not JSON, 401 without the admin token."""
    expected = sent.context.get("status")
    allowed = {expected} if expected is not None else {200, 400, 413, 422}
    if answer.status not in allowed and answer.status < 500:
        yield Problem(f"HTTP {answer.status} where {sorted(allowed)} was expected")
    body = answer.json
    if not isinstance(body, dict):
        return
    if answer.status == 200:
        lists = ("serviceAccounts", "personalTokens", "ingestKeys", "webhooks")
        if set(body) != set(lists) or not all(isinstance(body[k], list) for k in lists):
            yield Problem("shape: apply result", answer.text[:200])
        return
    yield from _error_shape(body, answer)
    if answer.status != 422:
        return
    error = body.get("error") or {}
    problems = error.get("problems") if isinstance(error, dict) else None
    if error.get("code") != "INVALID_INPUT" or not isinstance(problems, list) or not problems:
        yield Problem("shape: 422 without INVALID_INPUT problems", answer.text[:200])
        return
    paths = [p.get("path") for p in problems if isinstance(p, dict)]
    if len(paths) != len(problems) or not all(isinstance(p, str) for p in paths):
        yield Problem("shape: problem without a path", answer.text[:200])
    for wanted in sent.context.get("paths", []):
        if not any(isinstance(p, str) and p.startswith(wanted) for p in paths):
            yield Problem("a problem was not reported in the same pass", f"{wanted}: {paths}")
