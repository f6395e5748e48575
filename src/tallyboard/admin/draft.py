"""A tenancy document read whole: its valid part, its problems of shape, and what they hide.

An invalid document must report *every* problem in one pass -- those of its shape and
those of its references (unknown organization, unknown role, billing organization),
which the applier checks against the document and the database. So a document whose
shape is wrong is not simply refused here: it is *salvaged*. Each problem's entry is
taken out (a bad value's key; a broken list item; as a last resort the top-level
list), validation runs again on what is left, and the valid rest goes on to the
reference checks. Nothing is ever applied from a draft that had a problem.

Taking entries out must not invent problems. The :class:`Damage` record remembers
what was taken out so the reference checks can stay silent about it: an organization
whose entry was broken still counts as named by the document, a broken custom-role
list makes every role of that organization plausible, and a user whose memberships
were broken is not told that a billing organization is not theirs. And because
broken list items are removed, the valid part's indexes are mapped back to the
document's own (``original_path``), so every problem names the path the author wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tallyboard.admin.document import MIN_TOKEN_LIFETIME, Document, problems_of
from tallyboard.domain.errors import InvalidInputError, Problem

__all__ = ["Damage", "Draft", "read_document"]

_MAX_ROUNDS = 8
"""Each round removes at least one entry; real documents settle in two or three."""
_COPY_DEPTH = 8
"""The document's deepest value is six levels down; below that nothing is removed."""
_SEGMENT = re.compile(r"([A-Za-z_]+)((?:\[\d+\])*)")

Path = tuple[int | str, ...]


class _Tracked(list[Any]):
    """A list that remembers the document index of each item it still holds."""

    origin: list[int]


def _copy(value: Any, depth: int = 0) -> Any:
    if depth > _COPY_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {k: _copy(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        tracked = _Tracked(_copy(v, depth + 1) for v in value)
        tracked.origin = list(range(len(value)))
        return tracked
    return value


def _key(value: object) -> str | None:
    """An entry's key the way the document model reads it (numbers become strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int):
        return str(value).strip() or None
    return None


def _entries(raw: Mapping[str, Any], name: str) -> tuple[list[Mapping[str, Any]], bool]:
    """The mapping items of a top-level list, and whether every item could be read."""
    items = raw.get(name)
    if items is None:
        return [], True
    if not isinstance(items, list):
        return [], False
    readable = [item for item in items if isinstance(item, Mapping)]
    return readable, len(readable) == len(items)


@dataclass
class Damage:
    """What the reference checks must not hold against the valid rest of a document."""

    org_ids: set[str] = field(default_factory=set)
    """Every organization id the document names in ``organizations``, valid or not."""
    any_org: bool = False
    """Some organization entry's id could not be read: any id may be the document's."""
    unsure_roles: set[str] = field(default_factory=set)
    """Organizations whose custom roles the document defines but could not be read."""
    any_roles: bool = False
    unsure_members: set[str] = field(default_factory=set)
    """Users (e-mail) whose memberships the document sets but could not be read."""
    any_members: bool = False
    tokens: set[tuple[str, str]] = field(default_factory=set)
    """(user e-mail, token name) of every personal token the document lists."""
    accounts: set[tuple[str, str]] = field(default_factory=set)
    """(organization id, name) of every service account the document lists."""
    ingest_keys: set[str] = field(default_factory=set)
    any_credential: bool = False
    """Some credential entry could not be read: any credential may be the document's."""
    unsure_lifetimes: set[tuple[str | None, str | None]] = field(default_factory=set)
    """(organization id, name) of service accounts whose token lifetime was unreadable."""
    unsure_pipes: set[str | None] = field(default_factory=set)
    """Organizations whose pipes could not all be read (None: an unreadable id)."""
    _noted: set[int] = field(default_factory=set, repr=False)
    """Salvage-copy entries (by identity) whose key is recorded above."""

    def pipes_unsure(self, org_id: str) -> bool:
        return self.any_org or None in self.unsure_pipes or org_id in self.unsure_pipes

    def org_named(self, org_id: str) -> bool:
        return self.any_org or org_id in self.org_ids

    def roles_unsure(self, org_id: str) -> bool:
        return self.any_roles or org_id in self.unsure_roles

    def members_unsure(self, email: str | None) -> bool:
        return self.any_members or email in self.unsure_members

    def token_named(self, email: str, name: str) -> bool:
        return self.any_credential or (email, name) in self.tokens

    def account_named(self, org_id: str, name: str) -> bool:
        return self.any_credential or (org_id, name) in self.accounts

    def ingest_key_named(self, name: str) -> bool:
        return self.any_credential or name in self.ingest_keys

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Damage:
        """The keys every entry of ``raw`` names, read leniently (types unchecked)."""
        damage = cls()
        orgs, readable = _entries(raw, "organizations")
        ids = [_key(o.get("id")) for o in orgs]
        damage.org_ids = {i for i in ids if i is not None}
        damage.any_org = not readable or None in ids
        damage.any_roles = damage.any_org
        damage._read_credentials(raw)
        return damage

    def _read_credentials(self, raw: Mapping[str, Any]) -> None:
        users, readable = _entries(raw, "users")
        complete = readable
        for user in users:
            email = _key(user.get("email"))
            tokens = user.get("personalTokens", user.get("personal_tokens")) or []
            for token in tokens if isinstance(tokens, list) else []:
                name = _key(token.get("name")) if isinstance(token, Mapping) else None
                if email is None or name is None:
                    complete = False
                else:
                    self.tokens.add((email.lower(), name))
        accounts, readable = _entries(raw, "serviceAccounts")
        complete = complete and readable
        for account in accounts:
            org, name = _key(account.get("organization")), _key(account.get("name"))
            if org is None or name is None:
                complete = False
            else:
                self.accounts.add((org, name))
        keys, readable = _entries(raw, "ingestKeys")
        names = [_key(k.get("name")) for k in keys]
        self.ingest_keys = {n for n in names if n is not None}
        self.any_credential = not (complete and readable) or None in names

    def note_removal(self, data: Mapping[str, Any], path: Path) -> None:
        """Record what removing ``path`` (from the salvage copy ``data``) hides."""
        top = path[0]
        if top not in ("organizations", "users"):
            return
        if len(path) == 1:  # the whole list was unreadable
            if top == "organizations":
                self.any_org = self.any_roles = True
            else:
                self.any_members = True
            return
        entry = data[top][path[1]]
        if top == "organizations" and (len(path) == 2 or path[2] in ("id", "pipes")):
            self.unsure_pipes.add(_key(entry.get("id")) if isinstance(entry, Mapping) else None)
        if id(entry) in self._noted:
            return  # recorded when its key or a list of it was removed (rounds before)
        whole = len(path) == 2
        # A role's name is lost with the roles list, a role entry or the name itself;
        # a removed permission leaves every role name readable.
        role_names = len(path) > 2 and path[2] == "roles" and (len(path) <= 4 or path[4] == "name")
        if top == "organizations" and (whole or path[2] == "id" or role_names):
            self._note(entry, "id", self.unsure_roles)
        if top == "users" and (whole or path[2] in ("memberships", "email")):
            self._note(entry, "email", self.unsure_members)

    def _note(self, entry: object, key: str, unsure: set[str]) -> None:
        value = _key(entry.get(key)) if isinstance(entry, Mapping) else None
        if value is not None:
            unsure.add(value.lower() if key == "email" else value)
            self._noted.add(id(entry))
        elif key == "email":
            self.any_members = True
        else:
            self.any_roles = True


@dataclass
class Draft:
    """A document read whole; ``problems`` are its problems of shape (if any)."""

    document: Document
    problems: tuple[Problem, ...] = ()
    damage: Damage = field(default_factory=Damage)
    _data: Mapping[str, Any] | None = None

    def original_path(self, path: str) -> str:
        """``path`` in the valid part's indexes, written in the document's own indexes."""
        if self._data is None:
            return path
        node: Any = self._data
        out = []
        for segment in path.split("."):
            match = _SEGMENT.fullmatch(segment)
            if match is None or not isinstance(node, Mapping):
                out.append(segment)
                node = None
                continue
            name, indexes = match.group(1), [int(i) for i in re.findall(r"\d+", match.group(2))]
            node = node.get(name)
            written = name
            for index in indexes:
                origin = getattr(node, "origin", None)
                written += f"[{origin[index] if origin and index < len(origin) else index}]"
                node = node[index] if isinstance(node, list) and index < len(node) else None
            out.append(written)
        return ".".join(out)

    def require_valid(self, reference_problems: Iterable[Problem] = ()) -> None:
        """Raise every problem at once -- of shape first, then of references."""
        problems = list(self.problems)
        problems += [Problem(self.original_path(p.path), p.reason) for p in reference_problems]
        if problems:
            raise InvalidInputError(problems)


def read_document(raw: object) -> Draft:
    """Validate a decoded document, salvaging its valid part when its shape is wrong."""
    if not isinstance(raw, Mapping):
        raise InvalidInputError([Problem("", "the document must be a mapping (an object)")])
    try:
        return Draft(Document.model_validate(raw))
    except ValidationError as exc:
        problems = tuple(problems_of(exc))
        errors = exc.errors()
    damage = Damage.of(raw)
    data = _copy(raw)
    for _ in range(_MAX_ROUNDS):
        repairs = _repairs(data, errors)
        if not repairs:
            break
        for path, filler in repairs:
            _repair(data, path, filler, damage)
        try:
            document = Document.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            continue
        return Draft(document, problems, damage, data)
    everything = Damage(any_org=True, any_roles=True, any_members=True, any_credential=True)
    return Draft(Document(), problems, everything)


_FILLERS: dict[Path, object] = {
    ("organizations", "name"): "-",
    ("organizations", "flows", "name"): "-",
    ("organizations", "flows", "project", "name"): "-",
    ("users", "name"): "-",
    ("serviceAccounts", "tokenLifetime"): MIN_TOKEN_LIFETIME,
}
"""Required values that neither identify an entry nor refer to anything: a broken one is
replaced (in the salvage copy only) so the entry's references are still checked."""
_REMOVE = object()


def _repairs(data: Mapping[str, Any], errors: Iterable[Mapping[str, Any]]) -> list[_Repair]:
    """What to change for these errors: a filler for a fillable value; otherwise remove
    the longest part of the location that exists (the bad key or item; for a missing
    key, the entry that lacks it). Outermost wins, and items of one list go from the
    last to the first (so indexes stay valid while removing)."""
    found: dict[Path, object] = {}
    for error in errors:
        loc = tuple(error["loc"])
        path = _existing_prefix(data, loc)
        missing = error.get("type") == "missing" and path == loc[:-1]
        wanted = loc if missing else path
        filler = _FILLERS.get(tuple(p for p in wanted if isinstance(p, str)), _REMOVE)
        if filler is not _REMOVE:
            found[wanted] = filler
        elif path:
            found[path] = _REMOVE
    kept = [(p, f) for p, f in found.items() if not any(p[:n] in found for n in range(1, len(p)))]
    return sorted(kept, key=lambda r: [(isinstance(x, str), x) for x in r[0]], reverse=True)


_Repair = tuple[Path, object]


def _existing_prefix(data: Mapping[str, Any], loc: Path) -> Path:
    node: Any = data
    path: list[int | str] = []
    for part in loc:
        in_mapping = isinstance(node, Mapping) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_mapping or in_list):
            break
        node = node[part]
        path.append(part)
    return tuple(path)


def _repair(data: Any, path: Path, filler: object, damage: Damage) -> None:
    container = data
    for part in path[:-1]:
        container = container[part]
    last = path[-1]
    if filler is not _REMOVE:
        container[last] = filler
        if last == "tokenLifetime":
            damage.unsure_lifetimes.add(
                (_key(container.get("organization")), _key(container.get("name")))
            )
        return
    damage.note_removal(data, path)
    if isinstance(container, _Tracked) and isinstance(last, int):
        del container.origin[last]
    del container[last]
