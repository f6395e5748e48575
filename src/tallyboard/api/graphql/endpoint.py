"""``POST /graphql`` (GraphiQL on ``GET`` is a page of the web layer, web/routes.py).

The journey of a request (docs/architecture.md):

1. read the body, refusing oversize ones (413), and decode its JSON -- on the event
   loop;
2. the rest -- request shape (400), authentication (401), rate limiting (429), the
   cached document (parse/validate/limits: 400), the UUID budget (400), then
   execution -- inside one read transaction shared by every read of the request. On
   PostgreSQL it always runs on a worker thread: a round trip can hang (a stalled
   server, a cut network) and nothing that can hang may run on the event loop. On
   SQLite it runs on the event loop when the document is known to execute within
   ``INLINE_BUDGET`` (no thread hop, no GIL hand-offs between threads) *and* its reads
   never wait: a read that would wait for a lock fails at once and the request is run
   again on a worker thread; a document that overruns the budget inline goes back to
   threads (decisions 0009, 0014);
3. on the event loop, a billable request bumps the metering accumulator
   (spec §3: executed, authenticated, not every root field denied, no server error).

Request-level refusals answer with ``{"errors": [...]}`` and the status of their code;
executed requests answer 200 with ``data`` and field ``errors`` -- except when the
database failed them (``SERVICE_UNAVAILABLE``: 503 with ``Retry-After``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import orjson
from graphql import GraphQLSchema, execute_sync
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.access.principal import Principal
from tallyboard.access.rate_limit import RateLimiter
from tallyboard.api.context import RequestContext, Services
from tallyboard.api.graphql import errors as codes
from tallyboard.api.graphql.document_cache import DocumentCache, Placement
from tallyboard.api.graphql.projection import Fallback
from tallyboard.api.http.body import read_body
from tallyboard.domain.errors import (
    PayloadTooLargeError,
    RateLimitedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from tallyboard.domain.rollup import ApiCallKey
from tallyboard.domain.text import MAX_NAME_LENGTH
from tallyboard.domain.usage import NOT_SPECIFIED
from tallyboard.observability.logging import correlation_id

__all__ = ["GraphQLEndpoint"]

INLINE_BUDGET = 0.005
"""Seconds a document's execution may block the event loop; slower ones use threads."""
WAIT_BUDGET = 0.05
"""Wall-clock seconds an inline run may take (waiting on the database included)."""
STRIKES = 3
"""Over-budget inline runs (net of good ones) that send a document back to threads."""
PROBATION = 200
"""Thread runs a document that overran the budget inline serves before trying again."""

JSON_DEPTH = 1024
"""Deepest JSON nesting a request body may have (orjson's own limit)."""

_STATUS = {
    codes.UNAUTHORIZED: 401,
    codes.PARSE_FAILED: 400,
    codes.VALIDATION_FAILED: 400,
    codes.QUERY_TOO_COMPLEX: 400,
    codes.BAD_REQUEST: 400,
    codes.INVALID_INPUT: 400,
    codes.RATE_LIMITED: 429,
    codes.INTERNAL: 500,
    codes.SERVICE_UNAVAILABLE: 503,
}
_DEPRECATION = {
    "code": "DEPRECATED_CREDENTIAL",
    "message": (
        "Personal access tokens are deprecated: use a service account and "
        "POST /oauth/token (client credentials) instead."
    ),
}


@dataclass(slots=True)
class _Outcome:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    meter: ApiCallKey | None = None
    executed: bool = False
    """The document ran (a refusal before execution says nothing about its cost)."""


class GraphQLEndpoint:
    def __init__(
        self,
        services: Services,
        schema: GraphQLSchema,
        documents: DocumentCache,
        max_body_bytes: int,
        max_org_uuids: int,
        rate_limiter: RateLimiter | None,
        *,
        metering: bool = True,
        inline: bool = True,
    ) -> None:
        self._services = services
        self._schema = schema
        self._documents = documents
        self._max_body = max_body_bytes
        self._max_uuids = max_org_uuids
        self._rate_limiter = rate_limiter
        self._record = services.accumulator.record if metering else None
        self._inline_allowed = inline and services.database.can_read_without_waiting

    async def handle(self, request: Request) -> Response:
        cid = correlation_id.get() or "-"
        try:
            body = await read_body(request, self._max_body)
        except (PayloadTooLargeError, RequestTimeoutError) as exc:
            status = 413 if isinstance(exc, PayloadTooLargeError) else 408
            outcome = _refusal(codes.BAD_REQUEST, exc.message, cid, status=status)
        else:
            outcome = await self._dispatch(body, request.headers.get("authorization"), cid)
        if outcome.meter is not None and self._record is not None:
            self._record(outcome.meter)
        return Response(
            orjson.dumps(outcome.payload),
            status_code=outcome.status,
            headers=outcome.headers,
            media_type="application/json",
        )

    async def _dispatch(self, body: bytes, authorization: str | None, cid: str) -> _Outcome:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if "depth limit" in str(exc):  # orjson parses at most 1,024 levels
                message = f"The request body nests JSON more than {JSON_DEPTH} levels deep"
                return _refusal(codes.BAD_REQUEST, message, cid)
            return _refusal(codes.BAD_REQUEST, "The request body is not valid JSON", cid)
        query = payload.get("query") if isinstance(payload, dict) else None
        known = self._documents.peek(query) if isinstance(query, str) else None
        if known is not None and known.placement.inline and self._inline_allowed:
            started, cpu_started = time.perf_counter(), time.thread_time()
            outcome = self._process(payload, authorization, cid, nowait=True)
            cpu = time.thread_time() - cpu_started
            if outcome is None:  # a read would have waited for a lock: run it on a thread
                self._services.metrics.graphql_inline_fallbacks.inc()
                _judge_inline(known.placement, cpu, float("inf"))
            else:
                # CPU over budget, or a long wait (a slow disk): back to threads. Wall
                # time alone would also punish the document for the OS preempting us.
                if outcome.executed:
                    _judge_inline(known.placement, cpu, time.perf_counter() - started)
                return outcome
        return await anyio.to_thread.run_sync(self._process_in_thread, payload, authorization, cid)

    def _process_in_thread(self, payload: Any, authorization: str | None, cid: str) -> _Outcome:
        # CPU time, not wall time: waiting for the GIL behind other threads (which an
        # inline run does not do) must not keep a cheap document off the loop.
        started = time.thread_time()
        outcome = self._process(payload, authorization, cid, nowait=False)
        assert outcome is not None  # only a nowait run gives up
        elapsed = time.thread_time() - started
        query = payload.get("query") if isinstance(payload, dict) else None
        prepared = self._documents.peek(query) if isinstance(query, str) else None
        if outcome.executed and prepared is not None and prepared.document is not None:
            _place(prepared.placement, elapsed)
        return outcome

    # ------------------------------------------------------------ the request

    def _process(
        self, payload: Any, authorization: str | None, cid: str, *, nowait: bool
    ) -> _Outcome | None:
        """The request's outcome; None when a ``nowait`` run met a lock (run it again
        on a worker thread: everything it did was reads)."""
        scope = None
        try:
            with self._services.database.read_scope(nowait=nowait) as scope:
                outcome = self._process_unguarded(payload, authorization, cid)
        except Exception as exc:
            if scope is not None and scope.blocked:
                return None
            return self._failed(exc, cid)
        if scope.blocked:
            return None
        return outcome

    def _failed(self, exc: Exception, cid: str) -> _Outcome:
        """A request the server could not serve: an outage (503) or a bug (500), logged
        once per kind per interval (observability/failures.py)."""
        if isinstance(exc, ServiceUnavailableError):
            self._services.failures.record(exc.kind, exc, "POST /graphql")
            outcome = _refusal(codes.SERVICE_UNAVAILABLE, exc.message, cid)
            outcome.headers["Retry-After"] = str(exc.retry_after)
            return outcome
        self._services.failures.record(f"bug:{type(exc).__name__}", exc, "POST /graphql")
        return _refusal(codes.INTERNAL, codes.INTERNAL_MESSAGE, cid)

    def _process_unguarded(self, payload: Any, authorization: str | None, cid: str) -> _Outcome:
        if isinstance(payload, list):
            return _refusal(
                codes.BAD_REQUEST,
                "Batched requests (a JSON array) are not supported: send one operation per request",
                cid,
            )
        if not isinstance(payload, dict):
            return _refusal(codes.BAD_REQUEST, "The request body must be a JSON object", cid)
        query = payload.get("query")
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not query.strip():
            return _refusal(codes.BAD_REQUEST, "The request has no query", cid)
        if variables is not None and not isinstance(variables, dict):
            return _refusal(codes.BAD_REQUEST, "variables must be a JSON object", cid)
        if operation_name is not None and not isinstance(operation_name, str):
            return _refusal(codes.BAD_REQUEST, "operationName must be a string", cid)
        if operation_name is not None and len(operation_name) > MAX_NAME_LENGTH:
            return _refusal(codes.BAD_REQUEST, _long_name(len(operation_name)), cid)
        variables = variables or {}

        try:
            principal = self._services.authenticator.principal(authorization)
        except UnauthorizedError as exc:
            outcome = _refusal(codes.UNAUTHORIZED, exc.message, cid)
            outcome.headers["WWW-Authenticate"] = "Bearer"
            return outcome
        warnings = [_DEPRECATION] if principal.deprecated_credential else []
        outcome = self._execute(principal, query, variables, operation_name or None, cid)
        if warnings:
            outcome.payload.setdefault("extensions", {})["warnings"] = warnings
        return outcome

    def _execute(
        self,
        principal: Principal,
        query: str,
        variables: dict[str, Any],
        operation_name: str | None,
        cid: str,
    ) -> _Outcome:
        if self._rate_limiter is not None:
            try:
                self._rate_limiter.check(principal.rate_key)
            except RateLimitedError as exc:
                outcome = _refusal(codes.RATE_LIMITED, exc.message, cid)
                outcome.headers["Retry-After"] = str(exc.retry_after)
                return outcome

        prepared = self._documents.prepare(query)
        if prepared.refusal is not None:
            self._services.metrics.graphql_rejected.labels(prepared.refusal.code).inc()
            entries = []
            for message, locations in prepared.refusal.messages:
                entry = codes.error_entry(message, prepared.refusal.code, cid)
                if locations:
                    entry["locations"] = locations
                entries.append(entry)
            return _Outcome(_STATUS[prepared.refusal.code], {"errors": entries})
        operation = prepared.operation(operation_name)
        if operation is None:
            message = (
                f"The document has no operation named {operation_name!r}"
                if operation_name
                else "The document has several operations: choose one with operationName"
            )
            return _refusal(codes.BAD_REQUEST, message, cid)
        if operation.name is not None and len(operation.name) > MAX_NAME_LENGTH:
            return _refusal(codes.BAD_REQUEST, _long_name(len(operation.name)), cid)
        uuids = operation.uuid_count(variables, self._max_uuids)
        if uuids > self._max_uuids:
            return _refusal(
                codes.QUERY_TOO_COMPLEX,
                f"The document asks for {uuids} organization UUIDs across its fields; "
                f"at most {self._max_uuids} are allowed per document",
                cid,
            )

        context = RequestContext(self._services.queries, principal, cid)
        assert prepared.document is not None
        result = None
        projection = prepared.projections.get(operation.name)
        if projection is not None:
            try:
                result = projection.execute(context, variables)
            except Fallback:
                context = RequestContext(self._services.queries, principal, cid)
        if result is None:
            result = execute_sync(
                self._schema,
                prepared.document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
                hide_suggestions=True,
            )
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            # Refused before execution: variables that do not fit their types.
            entries = [
                codes.error_entry(e.message, codes.INVALID_INPUT, cid) for e in result.errors
            ]
            return _Outcome(400, {"errors": entries})

        response: dict[str, Any] = {"data": result.data}
        denied_roots: set[str] = set()
        server_error: BaseException | None = None
        if result.errors:
            formatted = []
            for error in result.errors:
                entry, code = codes.format_error(error, cid)
                formatted.append(entry)
                if code == codes.SERVICE_UNAVAILABLE or (
                    code == codes.INTERNAL and server_error is None
                ):
                    server_error = error.original_error or error
                elif code == codes.PERMISSION_DENIED and error.path and len(error.path) == 1:
                    denied_roots.add(str(error.path[0]))
            response["errors"] = formatted
        if context.warnings:
            response["extensions"] = {"warnings": list(context.warnings)}
        if server_error is not None:
            return self._failed_fields(server_error, response, cid)

        billable = not (operation.root_keys and denied_roots >= operation.root_keys)
        meter = None
        if billable:
            day = self._services.clock.now().date()
            name = operation_name or operation.name or NOT_SPECIFIED
            meter = (principal.billing_org_pk, day, name, principal.token_label)
        return _Outcome(200, response, meter=meter, executed=True)

    def _failed_fields(self, error: BaseException, response: dict[str, Any], cid: str) -> _Outcome:
        """Executed, but a field failed on the server's side: never billable; logged
        once per kind per interval; 503 + ``Retry-After`` when the database failed it
        (the data is partial), else 200 with the field errors."""
        if isinstance(error, ServiceUnavailableError):
            self._services.failures.record(error.kind, error, "POST /graphql (a field)")
            return _Outcome(503, response, {"Retry-After": str(error.retry_after)})
        self._services.failures.record(
            f"bug:{type(error).__name__}", error, "POST /graphql (a field)"
        )
        return _Outcome(200, response, executed=True)


def _judge_inline(placement: Placement, cpu: float, wall: float) -> None:
    """After an inline run: a long wait (a slow database) sends the document back to
    threads at once; CPU over budget does after ``STRIKES`` more bad runs than good ones,
    so alternating cheap and expensive runs cannot keep it on the loop."""
    if wall > WAIT_BUDGET:
        placement.strikes = STRIKES
    elif cpu > INLINE_BUDGET:
        placement.strikes += 1
    elif placement.strikes:
        placement.strikes -= 1
    if placement.strikes >= STRIKES:
        placement.inline = False
        placement.probation = PROBATION
        placement.strikes = 0


def _place(placement: Placement, elapsed: float) -> None:
    """After a thread run: a document that executes within budget may run inline."""
    if placement.probation > 0:
        placement.probation -= 1
    elif elapsed <= INLINE_BUDGET:
        placement.inline = True


def _long_name(length: int) -> str:
    """Operation names are metered (a rollup key): bounded like every name (domain/text.py)."""
    return (
        f"operationName: operation names may have at most {MAX_NAME_LENGTH} characters, "
        f"this one has {length}; the request was not executed"
    )


def _refusal(code: str, message: str, cid: str, *, status: int | None = None) -> _Outcome:
    return _Outcome(status or _STATUS[code], {"errors": [codes.error_entry(message, code, cid)]})
