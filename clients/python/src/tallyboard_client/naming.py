"""Operation names for metered requests (§12 of the contract).

A GraphQL request -- a ``POST`` whose JSON body has a ``query`` string, or a ``GET`` with
a ``query`` parameter -- is named by its ``operationName``, else by the name of its single
named operation, else ``"Not specified"``. Any other request is ``"<METHOD> <route>"``
(the route template when the framework exposes one, else the path; never the query).

Finding "the single named operation" needs no GraphQL parser: a light scan of the
document's tokens is enough (comments, strings and block strings skipped, braces and
parentheses counted, ``fragment`` definitions told apart from operations). It costs a
few microseconds where a full parse would cost far more, and keeps the library's
requirements at ``httpx`` and ``orjson``. Documents that do not parse the scan's way
simply name nothing (``"Not specified"``): the GraphQL server refuses them anyway.

Names come from the request, so they are made safe for the ingest API: at most 256
characters, control characters replaced by U+FFFD (the event would otherwise be
rejected and the call lost).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import orjson

__all__ = [
    "MAX_NAME_LENGTH",
    "NOT_SPECIFIED",
    "graphql_name_from_body",
    "graphql_name_from_query_string",
    "operation_name_in_document",
    "safe_name",
]

NOT_SPECIFIED = "Not specified"
MAX_NAME_LENGTH = 256

# Strings, block strings and comments can hold anything (braces, "query X"): they are
# blanked out first. Block strings before strings, so '"""' is not read as '""' + '"'.
_SKIP = re.compile(r'"""(?:\\"""|[^"]|"(?!""))*"""|"(?:\\.|[^"\\\n\r])*"|#[^\n\r]*')
# Then only the top level is read token by token; nested blocks are jumped over from one
# brace or parenthesis to the next.
_TOP = re.compile(
    r"(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<nest>[{}()])|(?P<other>[^\s,{}()_A-Za-z]+)"
)
_NEST = re.compile(r"[{}()]")
_OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})
_START, _OPERATION, _HEADER, _FRAGMENT = range(4)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]|[\ud800-\udfff]")
# Documents already scanned, and their single operation's safe name (or None): at most
# 512 documents of at most 4 KiB each (2 MiB at worst); longer ones are scanned each time.
_DOCUMENT_NAMES: dict[str, str | None] = {}
_MAX_DOCUMENTS = 512
_MAX_CACHED_DOCUMENT = 4096
_UNSEEN = ""  # a name is never empty


def safe_name(name: str) -> str:
    """``name`` as the ingest API accepts it (≤ 256 characters, no control characters)."""
    if len(name) > MAX_NAME_LENGTH:
        name = name[:MAX_NAME_LENGTH]
    if name.isprintable():
        return name
    return _CONTROL.sub("\ufffd", name)


def operation_name_in_document(document: str) -> str | None:
    """The name of the document's single operation, when it has exactly one and it is
    named; ``None`` otherwise (anonymous, several operations, or not a document)."""
    if '"' in document or "#" in document:
        document = _SKIP.sub(" ", document)
    names: list[str | None] = []
    state = _START
    pos = 0
    while (match := _TOP.search(document, pos)) is not None:
        pos = match.end()
        word = match.group()
        if match.lastgroup == "nest":
            if word in "})":
                return None
            if state in (_START, _OPERATION):
                if word == "(" and state == _START:
                    return None
                names.append(None)  # `{ ... }`, `query { ... }`, `query ($v: T) ...`
                state = _HEADER
            closed = _skip_nested(document, pos)
            if closed is None:
                return None
            pos, closer = closed
            if closer == "}":
                state = _START  # the end of a definition
        elif state == _START:
            if word in _OPERATION_TYPES:
                state = _OPERATION
            elif word == "fragment":
                state = _FRAGMENT
            else:
                return None  # not an executable definition
        elif state == _OPERATION:
            names.append(word if match.lastgroup == "name" else None)  # a name, or `@dir`
            state = _HEADER
        # _HEADER and _FRAGMENT: directives, type conditions... up to the body
    if state != _START or len(names) != 1:
        return None
    return names[0]


def _skip_nested(document: str, pos: int) -> tuple[int, str] | None:
    """From just inside an opening brace or parenthesis, the position after the one that
    closes it (and which it is); ``None`` when the document ends first."""
    depth = 1
    while (match := _NEST.search(document, pos)) is not None:
        pos = match.end()
        if match.group() in "{(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos, match.group()
    return None


def _name_for(document: object, operation_name: object) -> str:
    if isinstance(operation_name, str) and operation_name:
        return safe_name(operation_name)
    if isinstance(document, str):
        # Clients send the same few documents again and again: scan each once.
        found = _DOCUMENT_NAMES.get(document, _UNSEEN)
        if found is _UNSEEN:
            found = operation_name_in_document(document)
            if found:
                found = safe_name(found)
            if len(document) <= _MAX_CACHED_DOCUMENT and len(_DOCUMENT_NAMES) < _MAX_DOCUMENTS:
                _DOCUMENT_NAMES[document] = found
        if found:
            return found
    return NOT_SPECIFIED


def graphql_name_from_body(body: bytes) -> str | None:
    """The operation name of a JSON GraphQL request body; ``None`` when the body is not
    one (not JSON, not an object, or no ``query`` string)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict):
        return None
    document = payload.get("query")
    if not isinstance(document, str):
        return None
    return _name_for(document, payload.get("operationName"))


def graphql_name_from_query_string(query_string: str) -> str | None:
    """The operation name of a ``GET`` GraphQL request; ``None`` without ``query``."""
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    document = params.get("query")
    if document is None:
        return None
    return _name_for(document, params.get("operationName"))
