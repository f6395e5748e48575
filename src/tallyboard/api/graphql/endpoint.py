"""``POST /graphql`` (GraphiQL on ``GET`` is a page of the web layer, web/routes.py).

The journey of a request (docs/architecture.md):

1. read the body, refusing oversize ones (413), and decode its JSON -- on the event
   loop;
2. the rest -- request shape (400), authentication (401), rate limiting (429), the
   cached document (parse/validate/limits: 400), the UUID budget (400), then
   execution (execution.py) -- inside one read transaction shared by every read of the
   request, on the event loop or a worker thread as scheduler.py decides (decisions
   0009, 0014);
3. on the event loop, a billable request bumps the metering accumulator (the rule is
   metering/billability.py: executed, authenticated, not every root field denied, no
   server error).

This module only translates: request parsing is request.py, execution is
execution.py, statuses and headers come from the one error table (api/error_table.py).
Request-level refusals answer with ``{"errors": [...]}`` and the status of their code;
executed requests answer 200 with ``data`` and field ``errors`` -- except when the
database failed them (``SERVICE_UNAVAILABLE``: 503 with ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import DocumentNode, ExecutionResult, OperationDefinitionNode, OperationType
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.access.authenticator import Authenticator
from tallyboard.access.principal import Principal
from tallyboard.access.rate_limit import RateLimiter
from tallyboard.api.context import RequestContext
from tallyboard.api.error_table import GRAPHQL_VARIABLES, answer_for, headers_for, status_for
from tallyboard.api.graphql import errors as codes
from tallyboard.api.graphql.document_cache import DocumentCache, PreparedDocument
from tallyboard.api.graphql.execution import execute
from tallyboard.api.graphql.limits import OperationPlan
from tallyboard.api.graphql.request import (
    GraphQLRequest,
    decode,
    long_name,
    query_of,
    read_request,
)
from tallyboard.api.graphql.scheduler import Placement, Scheduler
from tallyboard.api.http.body import read_body
from tallyboard.api.ports import ReadScopes
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import (
    BadRequestError,
    PayloadTooLargeError,
    RateLimitedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    TallyboardError,
    UnauthorizedError,
)
from tallyboard.domain.rollup import ApiCallKey
from tallyboard.domain.text import MAX_NAME_LENGTH
from tallyboard.exports.service import ExportService
from tallyboard.metering.billability import billed_call, is_billable
from tallyboard.observability.failures import FailureLog
from tallyboard.observability.logging import correlation_id
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.queries import StatisticsQueries

__all__ = ["GraphQLEndpoint"]

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
    """Receives only what it uses: the read side (``queries``), the authenticator, the
    database's read scopes, and where to record a billable call (None: not metered)."""

    def __init__(
        self,
        documents: DocumentCache,
        *,
        queries: StatisticsQueries,
        authenticator: Authenticator,
        reads: ReadScopes,
        clock: Clock,
        metrics: Metrics,
        failures: FailureLog,
        record: Callable[[ApiCallKey], object] | None,
        max_body_bytes: int,
        max_org_uuids: int,
        rate_limiter: RateLimiter | None,
        inline: bool = True,
        exports: ExportService | None = None,
    ) -> None:
        self._documents = documents
        self._queries = queries
        self._authenticator = authenticator
        self._reads = reads
        self._clock = clock
        self._metrics = metrics
        self._failures = failures
        self._record = record
        self._max_body = max_body_bytes
        self._max_uuids = max_org_uuids
        self._rate_limiter = rate_limiter
        self._exports = exports
        self._scheduler: Scheduler[_Outcome] = Scheduler(
            inline_allowed=inline and reads.can_read_without_waiting,
            on_fallback=metrics.graphql_inline_fallbacks.inc,
        )

    async def handle(self, request: Request) -> Response:
        cid = correlation_id.get() or "-"
        try:
            body = await read_body(request, self._max_body)
        except (PayloadTooLargeError, RequestTimeoutError) as exc:
            outcome = _refused(exc, cid)
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
            payload = decode(body)
        except BadRequestError as exc:
            return _refused(exc, cid)
        query = query_of(payload)
        known = self._documents.peek(query) if query is not None else None

        def work(nowait: bool) -> _Outcome | None:
            return self._process(payload, authorization, cid, nowait=nowait)

        def placement_after() -> Placement | None:
            prepared = self._documents.peek(query) if query is not None else None
            if prepared is None or prepared.document is None or _writes(prepared.document):
                return None  # a mutation would be refused on the loop: it stays on threads
            return prepared.placement

        return await self._scheduler.run(
            known.placement if known is not None else None, work, placement_after
        )

    # ------------------------------------------------------------ the request

    def _process(
        self, payload: Any, authorization: str | None, cid: str, *, nowait: bool
    ) -> _Outcome | None:
        """The request's outcome; None when a ``nowait`` run met a lock (run it again
        on a worker thread: everything it did was reads)."""
        scope = None
        try:
            with self._reads.read_scope(nowait=nowait) as scope:
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
            self._failures.record(exc.kind, exc, "POST /graphql")
            return _refused(exc, cid)
        self._failures.record(f"bug:{type(exc).__name__}", exc, "POST /graphql")
        return _refusal(codes.INTERNAL, codes.INTERNAL_MESSAGE, cid)

    def _process_unguarded(self, payload: Any, authorization: str | None, cid: str) -> _Outcome:
        try:
            request = read_request(payload)
        except BadRequestError as exc:
            return _refused(exc, cid)
        try:
            principal = self._authenticator.principal(authorization)
        except UnauthorizedError as exc:
            return _refused(exc, cid)
        outcome = self._execute(principal, request, cid)
        if principal.deprecated_credential:
            outcome.payload.setdefault("extensions", {})["warnings"] = [_DEPRECATION]
        return outcome

    def _execute(self, principal: Principal, request: GraphQLRequest, cid: str) -> _Outcome:
        if self._rate_limiter is not None:
            try:
                self._rate_limiter.check(principal.rate_key)
            except RateLimitedError as exc:
                return _refused(exc, cid)
        admitted = self._admit(request, cid)
        if isinstance(admitted, _Outcome):
            return admitted
        prepared, operation = admitted
        assert prepared.executable is not None
        result, context = execute(
            prepared.executable,
            operation.name,
            request.variables,
            lambda: RequestContext(self._queries, principal, cid, exports=self._exports),
        )
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            # Refused before execution: variables that do not fit their types.
            entries = [
                codes.error_entry(e.message, codes.INVALID_INPUT, cid) for e in result.errors
            ]
            return _Outcome(answer_for(GRAPHQL_VARIABLES).status, {"errors": entries})
        response, denied_roots, server_error = _answer(result, context, cid)
        billable = is_billable(
            root_fields=operation.root_keys,
            denied_root_fields=denied_roots,
            server_error=server_error is not None,
        )
        if server_error is not None:
            return self._failed_fields(server_error, response)
        limited = _rate_limited(result)
        if limited is not None:
            # A field over its limit (the unfinished exports): 429 + Retry-After, unbilled.
            return _Outcome(status_for(limited), response, headers_for(limited), executed=True)
        meter = None
        if billable:
            name = request.operation_name or operation.name
            meter = billed_call(principal, self._clock.now().date(), name)
        return _Outcome(200, response, meter=meter, executed=True)

    def _admit(
        self, request: GraphQLRequest, cid: str
    ) -> tuple[PreparedDocument, OperationPlan] | _Outcome:
        """The prepared document and the operation that will execute, or the refusal
        of a document or operation that may not (limits, validation, names, UUIDs)."""
        prepared = self._documents.prepare(request.query)
        if prepared.refusal is not None:
            self._metrics.graphql_rejected.labels(prepared.refusal.code).inc()
            entries = []
            for message, locations in prepared.refusal.messages:
                entry = codes.error_entry(message, prepared.refusal.code, cid)
                if locations:
                    entry["locations"] = locations
                entries.append(entry)
            return _Outcome(answer_for(prepared.refusal.code).status, {"errors": entries})
        name = request.operation_name
        operation = prepared.operation(name)
        if operation is None:
            message = (
                f"The document has no operation named {name!r}"
                if name
                else "The document has several operations: choose one with operationName"
            )
            return _refusal(codes.BAD_REQUEST, message, cid)
        if operation.name is not None and len(operation.name) > MAX_NAME_LENGTH:
            return _refusal(codes.BAD_REQUEST, long_name(len(operation.name)), cid)
        uuids = operation.uuid_count(request.variables, self._max_uuids)
        if uuids > self._max_uuids:
            return _refusal(
                codes.QUERY_TOO_COMPLEX,
                f"The document asks for {uuids} organization UUIDs across its fields; "
                f"at most {self._max_uuids} are allowed per document",
                cid,
            )
        return prepared, operation

    def _failed_fields(self, error: BaseException, response: dict[str, Any]) -> _Outcome:
        """Executed, but a field failed on the server's side: never billable; logged
        once per kind per interval; 503 + ``Retry-After`` when the database failed it
        (the data is partial), else 200 with the field errors."""
        if isinstance(error, ServiceUnavailableError):
            self._failures.record(error.kind, error, "POST /graphql (a field)")
            return _Outcome(status_for(error), response, headers_for(error))
        self._failures.record(f"bug:{type(error).__name__}", error, "POST /graphql (a field)")
        return _Outcome(200, response, executed=True)


def _answer(
    result: ExecutionResult, context: RequestContext, cid: str
) -> tuple[dict[str, Any], set[str], BaseException | None]:
    """The response of an executed request, the root fields answered
    ``PERMISSION_DENIED``, and the first server-side failure (an outage wins)."""
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
    return response, denied_roots, server_error


def _rate_limited(result: ExecutionResult) -> RateLimitedError | None:
    for error in result.errors or ():
        if isinstance(error.original_error, RateLimitedError):
            return error.original_error
    return None


def _refused(error: TallyboardError, cid: str) -> _Outcome:
    """A request-level refusal of ``error``: its code and message, status and headers
    from the error table."""
    entry = codes.error_entry(error.message, error.code, cid)
    return _Outcome(status_for(error), {"errors": [entry]}, headers_for(error))


def _refusal(code: str, message: str, cid: str) -> _Outcome:
    entry = codes.error_entry(message, code, cid)
    return _Outcome(answer_for(code).status, {"errors": [entry]})


def _writes(document: DocumentNode) -> bool:
    """A document with a mutation may write, and a write is never run on the event loop
    (decision 0014): placing it inline would only have its first try refused and rerun."""
    return any(
        isinstance(node, OperationDefinitionNode) and node.operation == OperationType.MUTATION
        for node in document.definitions
    )
