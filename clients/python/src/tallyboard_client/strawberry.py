"""A Strawberry schema extension that tells the metering middleware which operation ran.

    schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[MeteringExtension])
    app.add_middleware(MeteringMiddleware, meter=meter, organization=..., token_name=...)

The middleware names a GraphQL request from its body before execution; the extension
reports the name of the operation Strawberry actually executes (the request's
``operationName``, else the document's operation's own name; ``"Not specified"`` for an
anonymous one), which wins. Requests that fail before execution (a parse or validation
error) keep the middleware's reading. Works with the ASGI middleware and, for Strawberry's
Flask view, with the WSGI one; outside a metered request it does nothing.

Needs the ``strawberry`` extra: ``pip install 'tallyboard-client[strawberry]'``.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from tallyboard_client._request import CURRENT_OPERATION
from tallyboard_client.naming import NOT_SPECIFIED

__all__ = ["MeteringExtension"]


class MeteringExtension(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        current = CURRENT_OPERATION.get()
        if current is not None:
            try:
                name = self.execution_context.operation_name
            except Exception:  # no parsed document: leave the middleware's reading
                name = None
            else:
                current.name = name or NOT_SPECIFIED
        yield
