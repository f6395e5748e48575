"""Parse + validate once per distinct document text.

Parsing and validating a typical 300-byte query costs ~2 ms, more than everything else
a request does together; a cached lookup costs about a microsecond. Clients send the
same few documents over and over, so the outcome -- including refusals -- is cached by
the exact query text, least recently used out first, bounded by a number of entries
and by an estimate of the memory they hold (:func:`footprint`): a prepared document
holds far more than its text, about 1 KiB per lexical token (syntax tree, locations,
compiled projection), and a 1 MiB document of comments or padding holds its text
again in its tokens.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Protocol

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    parse,
)

from tallyboard.api.graphql.errors import PARSE_FAILED, QUERY_TOO_COMPLEX, VALIDATION_FAILED
from tallyboard.api.graphql.execution import Executable, compile_executable
from tallyboard.api.graphql.limits import SATURATED, DocumentShape, OperationPlan, measure
from tallyboard.api.graphql.scheduler import Placement
from tallyboard.api.graphql.validation import validate_document
from tallyboard.observability.metrics import Metrics

__all__ = [
    "DocumentCache",
    "DocumentLimits",
    "DocumentStore",
    "PreparedDocument",
    "Refusal",
    "footprint",
]

ENTRY_BYTES = 32 * 1024
"""What a prepared document holds besides its tokens (measured: 25 KiB)."""
TOKEN_BYTES = 1024
"""What a prepared document holds per lexical token (measured: 530 to 970 bytes)."""
REFUSAL_BYTES = 2048
MESSAGE_BYTES = 768
"""What a refusal holds, and per message besides its text (measured: 2.9 to 9 KiB for
one message with its text, about 700 bytes per further message)."""


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    max_org_uuids: int
    max_fields: int
    max_length: int
    """Characters of query text: lexing costs 70 to 220 ms per MiB before any other
    limit can apply (white space, comments and strings alike)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a document will never execute: its code and one message per problem."""

    code: str
    messages: tuple[tuple[str, list[dict[str, int]] | None], ...]


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    executable: Executable | None = None
    refusal: Refusal | None = None
    operations: dict[str | None, OperationPlan] = field(default_factory=dict)
    placement: Placement = field(default_factory=Placement)
    """Where the endpoint runs this document (api/graphql/scheduler.py)."""

    @property
    def document(self) -> DocumentNode | None:
        return self.executable.document if self.executable is not None else None

    def operation(self, name: str | None) -> OperationPlan | None:
        """The operation that will execute for ``operationName`` = ``name``, if any."""
        if name is not None:
            return self.operations.get(name)
        if len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return None


def _locations(error: GraphQLError) -> list[dict[str, int]] | None:
    if not error.locations:
        return None
    return [{"line": loc.line, "column": loc.column} for loc in error.locations]


def _amount(count: int) -> str:
    return f"more than {SATURATED:,}" if count >= SATURATED else f"{count:,}"


def footprint(query: str, prepared: PreparedDocument) -> int:
    """Estimated bytes the cache holds for ``query``: its text, and the parsed document
    (per token, plus what its tokens' values copy from the text) or the refusal."""
    size = sys.getsizeof(query)
    document = prepared.document
    if document is not None:
        size += ENTRY_BYTES
        token = document.loc.start_token if document.loc else None
        while token is not None:
            size += TOKEN_BYTES + len(token.value or "")
            token = token.next
    if prepared.refusal is not None:
        size += REFUSAL_BYTES
        for message, _ in prepared.refusal.messages:
            size += MESSAGE_BYTES + sys.getsizeof(message)
    return size


class DocumentStore(Protocol):
    """The bounded LRU store the cache keeps its entries in (``cache.bounded.BoundedCache``,
    handed in by the composition root: the api layer does not import ``cache``)."""

    def get(self, key: str) -> PreparedDocument | None: ...
    def peek(self, key: str) -> PreparedDocument | None: ...
    def put(self, key: str, value: PreparedDocument, size: int = 1) -> bool: ...
    def __len__(self) -> int: ...
    @property
    def size(self) -> int: ...


class DocumentCache:
    def __init__(
        self,
        schema: GraphQLSchema,
        limits: DocumentLimits,
        metrics: Metrics,
        entries: DocumentStore,
    ) -> None:
        """``entries`` bounds the cache: by number and by :func:`footprint` (bytes)."""
        self._schema = schema
        self._limits = limits
        self._entries = entries
        self._hits = metrics.graphql_documents.labels("hit")
        self._misses = metrics.graphql_documents.labels("miss")

    @property
    def entries(self) -> DocumentStore:
        """The bounded cache itself (its size and length, for tests and metrics)."""
        return self._entries

    def peek(self, query: str) -> PreparedDocument | None:
        """The cached outcome for ``query``, if any (no parsing, no counting; only
        :meth:`prepare`, once per request, makes it recently used)."""
        return self._entries.peek(query)

    def prepare(self, query: str) -> PreparedDocument:
        if len(query) > self._limits.max_length:  # refused at no cost: not worth caching
            return self._refuse(
                QUERY_TOO_COMPLEX,
                f"The document is {len(query):,} characters long; "
                f"at most {self._limits.max_length:,} are allowed",
            )
        prepared = self._entries.get(query)
        if prepared is not None:
            self._hits.inc()
            return prepared
        self._misses.inc()
        prepared = self._prepare(query)
        self._entries.put(query, prepared, footprint(query, prepared))
        return prepared

    def _prepare(self, query: str) -> PreparedDocument:
        document = self._parse(query)
        if isinstance(document, PreparedDocument):
            return document
        shape = measure(document, self._limits.max_org_uuids)
        excess = self._excess(shape)
        if excess is not None:
            return self._refuse(QUERY_TOO_COMPLEX, excess)
        validation = validate_document(self._schema, document)
        if validation.too_complex:
            return self._refuse(
                QUERY_TOO_COMPLEX,
                "The document is too complex to validate: too many fields share a "
                "response name, or its fragments nest too deeply",
            )
        if validation.errors:
            errors = validation.errors
            return PreparedDocument(
                refusal=Refusal(
                    VALIDATION_FAILED, tuple((e.message, _locations(e)) for e in errors)
                )
            )
        if not any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
            return self._refuse(VALIDATION_FAILED, "The document contains no operation")
        return PreparedDocument(
            executable=compile_executable(self._schema, document), operations=shape.operations
        )

    def _parse(self, query: str) -> DocumentNode | PreparedDocument:
        """The syntax tree, or the refusal of a document that does not parse."""
        try:
            return parse(query, max_tokens=self._limits.max_tokens)
        except GraphQLSyntaxError as exc:
            if "nested too deeply" in exc.message:  # the parser ran out of stack
                return self._refuse(QUERY_TOO_COMPLEX, "The document is nested too deeply")
            if "Parsing aborted" in exc.message:  # graphql-core's max_tokens refusal
                return self._refuse(
                    QUERY_TOO_COMPLEX,
                    f"The document has more than {self._limits.max_tokens} tokens",
                )
            return PreparedDocument(
                refusal=Refusal(PARSE_FAILED, ((exc.message, _locations(exc)),))
            )

    def _excess(self, shape: DocumentShape) -> str | None:
        """Which static limit the document exceeds, if any (checked before validation)."""
        limits = self._limits
        if shape.aliases > limits.max_aliases:
            return (
                f"The document uses {shape.aliases} aliases; "
                f"at most {limits.max_aliases} are allowed"
            )
        if shape.depth > limits.max_depth:
            return (
                f"The document is {shape.depth} levels deep; at most {limits.max_depth} are allowed"
            )
        if shape.fields > limits.max_fields:
            return (
                f"The document selects {_amount(shape.fields)} fields once its fragments "
                f"are expanded; at most {limits.max_fields} are allowed"
            )
        return None

    @staticmethod
    def _refuse(code: str, message: str) -> PreparedDocument:
        return PreparedDocument(refusal=Refusal(code, ((message, None),)))
