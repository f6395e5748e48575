"""The references of the usage catalog sections (spec §9), against the document and the
database: duplicate ids, pipe uuids (unique, never changed), the pipes an agent or an
automation names (the same organization's), and creators (users). Part of the one pass
of ``admin/validation.py``: every problem with its path, nothing written if any."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.engine import Connection

from tallyboard.admin.catalog_document import UsageEntry
from tallyboard.admin.document import Document, Organization
from tallyboard.admin.draft import Damage
from tallyboard.domain.errors import Problem
from tallyboard.storage import catalog_entry_store as store

__all__ = ["catalog_problems"]


def _repeats(keys: list[str]) -> Iterator[tuple[int, int]]:
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            yield index, first[key]
        else:
            first.setdefault(key, index)


def catalog_problems(
    conn: Connection, doc: Document, org_pks: dict[str, int], damage: Damage
) -> list[Problem]:
    """Every problem of the pipes, automations and agents of ``doc``'s organizations."""
    pks = [org_pks[o.id] for o in doc.organizations if o.id in org_pks]
    stored = store.pipes_of(conn, pks)
    given = [
        (f"organizations[{i}].pipes[{j}].uuid", o.id, p.id, p.uuid)
        for i, o in enumerate(doc.organizations)
        for j, p in enumerate(o.pipes or ())
        if p.uuid
    ]
    holders = store.pipe_uuids(conn, [u for *_, u in given if u])
    emails = {
        e.created_by for o in doc.organizations for e in _entries(o) if e.created_by is not None
    }
    users = store.known_emails(conn, emails) | {u.email for u in doc.users}
    problems: list[Problem] = []
    for index, first in _repeats([u for *_, u in given if u]):
        problems.append(Problem(given[index][0], f"duplicate of {given[first][0]}"))
    pk_ids = {pk: org_id for org_id, pk in org_pks.items()}
    for path, org_id, pipe_id, pipe_uuid in given:
        holder = holders.get(pipe_uuid or "")
        if holder is not None and (pk_ids.get(holder[0]), holder[1]) != (org_id, pipe_id):
            problems.append(Problem(path, "already used by another pipe"))
        current = stored.get(org_pks.get(org_id, -1), {}).get(pipe_id)
        if current is not None and current != pipe_uuid:
            problems.append(
                Problem(path, f"pipe {pipe_id} already has uuid {current}; it cannot change")
            )
    for index, org in enumerate(doc.organizations):
        known_pipes = {p.id for p in org.pipes or ()} | set(stored.get(org_pks.get(org.id, -1), {}))
        problems += _org_problems(f"organizations[{index}]", org, known_pipes, users, damage)
    return problems


def _entries(org: Organization) -> list[UsageEntry]:
    return [*(org.agents or ()), *(org.automations or ())]


def _org_problems(
    path: str, org: Organization, pipes: set[str], users: set[str], damage: Damage
) -> list[Problem]:
    problems: list[Problem] = []
    for kind, items in (("pipes", org.pipes or ()), ("automations", org.automations or ())):
        for index, first in _repeats([item.id for item in items]):
            problems.append(Problem(f"{path}.{kind}[{index}].id", f"duplicate of {kind}[{first}]"))
    pipes_unsure = damage.pipes_unsure(org.id)
    for kind, entries in (("agents", org.agents or ()), ("automations", org.automations or ())):
        for index, entry in enumerate(entries):
            where = f"{path}.{kind}[{index}]"
            for field, pipe in (("actionPipe", entry.action_pipe), ("eventPipe", entry.event_pipe)):
                if pipe is not None and pipe not in pipes and not pipes_unsure:
                    problems.append(
                        Problem(
                            f"{where}.{field}", f"unknown pipe {pipe!r} of organization {org.id}"
                        )
                    )
            creator = entry.created_by
            if creator is not None and creator not in users and not damage.members_unsure(creator):
                problems.append(Problem(f"{where}.createdBy", f"unknown user {creator!r}"))
    return problems
