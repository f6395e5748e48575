"""A Strawberry schema extension that tells the metering middleware which operation ran.

    schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[MeteringExtension])
    app.add_middleware(MeteringMiddleware, meter=meter, organization=..., token_name=...)

The middleware names a GraphQL request from its body before execution; the extension
reports the name of the operation Strawberry actually executed (the request's
``operationName``, else the document's operation's own name; ``"Not specified"`` for an
anonymous one), which wins. Requests that fail before execution (a parse or validation
error) keep the middleware's reading. Works with the ASGI middleware and, for Strawberry's
Flask view, with the WSGI one; outside a metered request it does nothing.

Why ``get_results`` and not an ``on_execute`` hook: Strawberry calls every extension's
``get_results`` once per operation anyway, when the result is ready (still before the
response starts, so before the middleware records the call), whereas an ``on_execute``
generator costs, on every request, a ``contextlib.contextmanager`` wrapper built afresh
(``functools.wraps`` included), a generator and an exit-stack entry: about 31,000 CPU
instructions (~5 µs) per request on the example API, two thirds of what the extension
cost (see docs/decisions/0015-producer-library.md). By then ``execution_context.result`` is set
exactly when the operation was executed (resolver errors included), and unset when
parsing or validation refused it.

Needs the ``strawberry`` extra: ``pip install 'tallyboard-client[strawberry]'``.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension

from tallyboard_client._request import CURRENT_OPERATION
from tallyboard_client.naming import NOT_SPECIFIED

__all__ = ["MeteringExtension"]


class MeteringExtension(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        current = CURRENT_OPERATION.get()
        if current is not None:
            context = self.execution_context
            if context.result is not None:  # executed: parsed, validated, run
                try:
                    name = context.operation_name
                except Exception:  # no parsed document: leave the middleware's reading
                    return {}
                current.name = name or NOT_SPECIFIED
        return {}
