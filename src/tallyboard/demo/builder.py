"""Builds the demo database: schema, tenancy, then months of usage through the real
backfill path (the same ``IngestService`` that serves ``POST /v1/admin/backfill``, taken
from the composition root's :func:`~tallyboard.components.build_components`), so the
rollups, the catalog and the ledger are exactly what production would hold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tallyboard.admin.applier import ApplyResult
from tallyboard.admin.document import parse_document
from tallyboard.components import Components, build_components
from tallyboard.demo.tenancy import demo_document
from tallyboard.demo.usage import DEFAULT_SEED, DayOfUsage, UsageGenerator
from tallyboard.demo.world import ORGANIZATIONS, SIGN_IN_CREDENTIAL, SIGN_IN_USER
from tallyboard.domain.clock import Clock
from tallyboard.ingest.result import rejection_json
from tallyboard.settings import Settings
from tallyboard.storage import migrate

__all__ = ["DemoBuild", "DemoError", "SignIn", "Totals", "build_demo"]


class DemoError(RuntimeError):
    """The demo's own events were refused: a bug in the generator, never user input."""


@dataclass
class Totals:
    days: int = 0
    events: int = 0
    api_calls: int = 0
    tasks: int = 0
    micro_credits: int = 0
    jobs: int = 0

    def add(self, usage: DayOfUsage) -> None:
        self.days += 1
        self.events += len(usage.events)
        self.api_calls += usage.api_calls
        self.tasks += usage.tasks
        self.micro_credits += usage.micro_credits
        self.jobs += usage.jobs


@dataclass(frozen=True)
class SignIn:
    """A ready credential for the dashboard and what the person behind it sees."""

    who: str
    sees: str
    token: str


@dataclass
class DemoBuild:
    first_day: date
    last_day: date
    totals: Totals
    sign_ins: list[SignIn] = field(default_factory=list)
    ingest_key: str = ""
    """The demo's instance-wide ingest key, for producers such as the metered example API
    (examples/metered-graphql-api)."""


def _fresh_components(path: Path, settings: Settings, clock: Clock) -> Components:
    """The services on a new, migrated SQLite database at ``path``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    components = build_components(
        settings.model_copy(update={"database_url": f"sqlite:///{path}"}), clock=clock
    )
    migrate.upgrade(components.database)
    return components


def build_demo(
    path: Path,
    settings: Settings,
    clock: Clock,
    *,
    seed: int = DEFAULT_SEED,
    on_start: Callable[[int], None] | None = None,
    on_day: Callable[[DayOfUsage, Totals], None] | None = None,
) -> DemoBuild:
    """Create ``path`` afresh (SQLite) with the demo tenancy and its usage history;
    ``settings`` give the ingest limits (their database URL is replaced by ``path``)."""
    components = _fresh_components(path, settings, clock)
    try:
        now = clock.now()
        applied = components.applier.apply(parse_document(demo_document(now.date())))
        generator = UsageGenerator(ORGANIZATIONS, now, seed)
        totals = Totals()
        if on_start is not None:
            on_start(len(generator.days()))
        for usage in generator.generate():
            result = components.ingest.ingest_events(usage.events, bound_org_pk=None, backfill=True)
            if result.rejected or result.accepted != len(usage.events):
                first = rejection_json(result.rejected[0]) if result.rejected else {}
                raise DemoError(f"the demo's events for {usage.day} were refused: {first}")
            totals.add(usage)
            if on_day is not None:
                on_day(usage, totals)
        return DemoBuild(
            generator.start,
            now.date(),
            totals,
            _sign_ins(components, applied),
            ingest_key=applied.ingest_keys[0]["key"],
        )
    finally:
        components.close()


def _sign_ins(components: Components, applied: ApplyResult) -> list[SignIn]:
    personal = {(t["user"], t["name"]): t["token"] for t in applied.personal_tokens}
    reporter = next(a for a in applied.service_accounts if a["name"] == "Usage Reporter")
    issued = components.oauth.issue(
        "client_credentials", reporter["clientId"], reporter["clientSecret"]
    )
    return [
        SignIn(
            "Ada (personal token)",
            "four organizations: super admin in Acme Corp and Initech, admin in Globex "
            "and Umbrella Labs",
            personal[(SIGN_IN_USER, SIGN_IN_CREDENTIAL)],
        ),
        SignIn(
            "Usage Reporter (service account, 30 days)",
            "Acme Corp only, as super admin",
            issued.access_token,
        ),
        SignIn(
            "Grace (personal token)",
            "Acme Corp through the custom role Finance viewer (no AI credit details)",
            personal[("grace@acme.example", "Reports")],
        ),
        SignIn(
            "Linus (personal token)",
            "nothing: a member has no usage statistics permission",
            personal[("linus@acme.example", "CLI")],
        ),
    ]
