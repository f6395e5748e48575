"""Text a caller hands us that ends up stored, looked up or keyed: identifiers and names.

Every edge (ingest events, the tenancy document, GraphQL arguments, OAuth) checks such
text with :func:`character_problem` before any work, so the storage engines never see
what one of them would refuse or store differently from the other.

**Refused characters** (``docs/ingest.md``, ``docs/admin-apply.md``):

- control characters, Unicode category ``Cc``: C0 (U+0000-U+001F, NUL included), DEL
  (U+007F) and C1 (U+0080-U+009F). PostgreSQL cannot store NUL at all (SQLite can,
  so the engines would disagree); the others are invisible, and break logs, CSV
  exports and terminals. Free text (a service account's description) may keep line
  breaks and tabs (``allow_line_breaks``).
- lone surrogates (U+D800-U+DFFF): not characters; they cannot be encoded as UTF-8,
  so neither PostgreSQL nor a JSON response could carry them.

Everything else is allowed -- format characters such as the zero-width joiner inside
emoji, bidirectional marks, U+2028/U+2029, private-use and not yet assigned code points
-- because real names use them and no storage or encoding step refuses them.

**Lengths** bound every identifier and name that becomes part of a storage key, so no
key can outgrow an index entry (PostgreSQL's B-tree refuses entries over ~2.7 KB, which
a 256-character name cannot reach even at 4 bytes per character).
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "character_problem",
    "refused_character",
]

MAX_ID_LENGTH = 128
"""Event ids, sources and catalog ids (flow, project, agent)."""

MAX_NAME_LENGTH = 256
"""Names: operation names (GraphQL and ingest), token names, flow/project/agent names."""

_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_REFUSED_IN_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def refused_character(text: str, *, allow_line_breaks: bool = False) -> str | None:
    """The first refused character of ``text`` as ``U+XXXX``, or None when there is none."""
    if text.isascii() and text.isprintable():
        return None  # the usual case, twice as fast as the search
    pattern = _REFUSED_IN_FREE_TEXT if allow_line_breaks else _REFUSED
    found = pattern.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def character_problem(text: str, *, allow_line_breaks: bool = False) -> str | None:
    """Why ``text`` cannot be used as an identifier or a name, or None when it can."""
    found = refused_character(text, allow_line_breaks=allow_line_breaks)
    if found is None:
        return None
    return f"must not contain control characters (found {found})"
