"""The demo's cast: organizations of different sizes, their people, catalog and habits.

One description feeds both the tenancy document (:mod:`tallyboard.demo.tenancy`) and
the usage generator (:mod:`tallyboard.demo.usage`), so every token label, flow and
agent that appears in the usage also exists in the tenancy. Dates are relative (months
ago, fractions of the history) so the demo looks current whenever it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ORGANIZATIONS",
    "SERVICE_ACCOUNTS",
    "SIGN_IN_CREDENTIAL",
    "SIGN_IN_USER",
    "USERS",
    "Agent",
    "Flow",
    "OrgProfile",
    "Project",
    "ServiceAccount",
    "SettingsChange",
    "User",
]


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    icon: str | None = None
    color: str | None = None

    def as_document(self) -> dict[str, Any]:
        project: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.icon is not None:
            project["icon"] = self.icon
        if self.color is not None:
            project["color"] = self.color
        return project


@dataclass(frozen=True)
class Flow:
    """An integration flow and its schedule. ``starts``/``stops`` are fractions of the
    history (0 = its first day, 1 = now) between which the flow runs."""

    id: str
    name: str
    project: Project
    runs_per_day: int
    tasks_per_run: float
    status: str = "ENABLED"
    weekdays_only: bool = False
    starts: float = 0.0
    stops: float = 1.0
    in_catalog: bool = True
    """False: known only from its events (the catalog learns it from them)."""


@dataclass(frozen=True)
class Agent:
    """An AI automation agent: runs a day and mean credits per run."""

    id: str
    name: str
    runs_per_day: float
    credits_per_run: float
    deleted: bool = False
    stops: float = 1.0


@dataclass(frozen=True)
class SettingsChange:
    """An effective-dated settings entry, ``months_ago`` before the current month."""

    months_ago: int
    values: dict[str, Any]


@dataclass(frozen=True)
class OrgProfile:
    id: str
    uuid: str
    name: str
    calls_per_day: float
    """Weekday API calls at the start of the history (or when the org joined)."""
    growth: float
    """Volume multiplier reached by the end of the history (1.7 = +70 %)."""
    weekend: float
    """Weekend volume as a share of a weekday's."""
    utc_offset: int
    """Where the organization's working day is, for the hour-of-day rhythm."""
    operations: tuple[str | None, ...]
    """Most popular first; popularity falls off like Zipf's law (None: no operationName)."""
    callers: tuple[tuple[str, float], ...]
    """Token labels (service account names, "<user> - <token>") and their weights."""
    settings: tuple[SettingsChange, ...] = ()
    roles: tuple[dict[str, Any], ...] = ()
    flows: tuple[Flow, ...] = ()
    agents: tuple[Agent, ...] = ()
    assistant_sessions_per_day: float = 0.0
    assistant_credits: float = 0.0
    joined: float = 0.0
    """Fraction of the history when the organization became a customer."""


@dataclass(frozen=True)
class User:
    email: str
    name: str
    memberships: tuple[tuple[str, str], ...]
    """(organization id, role)."""
    tokens: tuple[tuple[str, str], ...] = ()
    """Personal tokens: (name, billing organization id)."""


@dataclass(frozen=True)
class ServiceAccount:
    organization: str
    name: str
    role: str
    lifetime: str = "30d"
    description: str | None = None


ACME, GLOBEX, INITECH, UMBRELLA = "300123", "300456", "300789", "301001"

_SALES = Project("prj-sales", "Sales", "cart", "blue")
_PEOPLE = Project("prj-people", "People", "users", "green")
_FINANCE = Project("prj-finance", "Finance", "coins", "amber")
_SUPPORT = Project("prj-support", "Support", "headset", "violet")
_MARKETING = Project("prj-marketing", "Marketing", "megaphone", "rose")
_OPS = Project("prj-gx-ops", "Operations", "truck", "teal")
_GX_DATA = Project("prj-gx-data", "Data", "database", "blue")
_INITECH = Project("prj-it-reports", "Reports", "chart", "amber")
_LAB = Project("prj-lab", "Lab systems", "flask", "green")

_ACME_FLOWS = (
    Flow("flow-crm-sync", "Sync CRM contacts", _SALES, 24, 6.5),
    Flow("flow-lead-score", "Score inbound leads", _SALES, 12, 9.0, weekdays_only=True),
    Flow("flow-deal-won", "Deal won → onboarding", _SALES, 6, 14.0, weekdays_only=True),
    Flow("flow-quote-pdf", "Quote PDF generator", _SALES, 8, 3.0, weekdays_only=True),
    Flow("flow-vip", 'Sync "VIP" accounts, nightly', _SALES, 1, 120.0),
    Flow("flow-renewals", "Renewal reminders", _SALES, 2, 18.0, starts=0.35),
    Flow("flow-payroll", "Payroll export", _PEOPLE, 1, 240.0, weekdays_only=True),
    Flow("flow-hires", "New hire provisioning", _PEOPLE, 3, 22.0, weekdays_only=True),
    Flow("flow-offboard", "Offboarding checklist", _PEOPLE, 1, 30.0, weekdays_only=True),
    Flow("flow-pto", "PTO calendar sync", _PEOPLE, 12, 2.0),
    Flow("flow-surveys", "Pulse survey digest", _PEOPLE, 1, 45.0, starts=0.6),
    Flow("flow-invoices", "Invoice archive", _FINANCE, 4, 12.0, status="DISABLED", stops=0.55),
    Flow("flow-expenses", "Expense approvals", _FINANCE, 10, 5.0, weekdays_only=True),
    Flow("flow-ledger", "Ledger reconciliation", _FINANCE, 2, 80.0),
    Flow("flow-fx", "FX rates import", _FINANCE, 24, 1.0),
    Flow("flow-dunning", "Dunning e-mails", _FINANCE, 1, 60.0, weekdays_only=True),
    Flow("flow-vendor", "Vendor onboarding", _FINANCE, 2, 16.0, status="DISABLED", stops=0.15),
    Flow("flow-tickets", "Ticket routing", _SUPPORT, 24, 4.0),
    Flow("flow-csat", "CSAT follow-up", _SUPPORT, 6, 3.5),
    Flow("flow-sla", "SLA breach alerts", _SUPPORT, 24, 1.5),
    Flow("flow-kb", "Knowledge base sync", _SUPPORT, 1, 35.0, starts=0.2),
    Flow("flow-escalate", "Escalate to engineering", _SUPPORT, 4, 6.0, weekdays_only=True),
    Flow("flow-newsletter", "Newsletter audience sync", _MARKETING, 1, 150.0, weekdays_only=True),
    Flow("flow-webinar", "Webinar registrations", _MARKETING, 6, 4.0, starts=0.5),
    Flow("flow-ads", "Ad spend import", _MARKETING, 4, 8.0),
    Flow("flow-utm", "UTM cleanup", _MARKETING, 1, 20.0, stops=0.4),
    Flow("flow-social", "Social mentions digest", _MARKETING, 2, 9.0, in_catalog=False),
    Flow("flow-events", "Event check-in sync", _MARKETING, 0, 0.0),
)

ORGANIZATIONS: tuple[OrgProfile, ...] = (
    OrgProfile(
        id=ACME,
        uuid="8a1c4f10-1111-4d2c-9c2a-abc123def456",
        name="Acme Corp",
        calls_per_day=11_000,
        growth=1.7,
        weekend=0.28,
        utc_offset=-5,
        operations=(
            "GetCards",
            None,
            "UpdateCard",
            "CreateCard",
            "GetPipe",
            "SearchRecords",
            "MoveCardToPhase",
            "GetUsage",
            "CreateComment",
            "UpdateFieldValue",
            "GetOrganization",
            "ListWebhooks",
            "GetCardHistory",
            "DeleteCard",
            "CreateAttachment",
            "ExportPipeReport",
            "GetTable",
            "UpdateTableRecord",
            "InviteMembers",
            "SetRole",
        ),
        callers=(
            ("HR Integration Bot", 9.0),
            ("Data Warehouse", 6.0),
            ("Zapier Bridge", 4.0),
            ("Ada - Python Integration", 3.0),
            ("Billing Sync", 2.5),
            ("Grace - Reports", 1.2),
            ("Linus - CLI", 0.8),
            ("Usage Reporter", 0.3),
        ),
        settings=(
            SettingsChange(
                3,
                {
                    "allowances": {
                        "apiCalls": 400_000,
                        "integrationTasks": 60_000,
                        "aiCredits": 6_500,
                    },
                    "aiCreditAddon": True,
                    "freeAiCredits": 500,
                    "aiAutomationEnabled": True,
                    "assistantsEnabled": True,
                },
            ),
            SettingsChange(1, {"allowances": {"apiCalls": 500_000}}),
        ),
        roles=({"name": "Finance viewer", "permissions": ["usage_stats"]},),
        flows=_ACME_FLOWS,
        agents=(
            Agent("agt-invoice", "Invoice Processor", 38, 1.6),
            Agent("agt-triage", "Ticket Triage", 55, 0.45),
            Agent("agt-onboard", "Onboarding Helper", 9, 2.75),
            Agent("agt-contracts", "Contract Reviewer", 6, 4.2),
            Agent("agt-legacy", "Legacy Classifier", 30, 0.8, deleted=True, stops=0.45),
        ),
        assistant_sessions_per_day=45,
        assistant_credits=0.65,
    ),
    OrgProfile(
        id=GLOBEX,
        uuid="b27d5e21-2222-4a3b-8d1b-def456abc789",
        name="Globex",
        calls_per_day=3_200,
        growth=1.25,
        weekend=0.55,
        utc_offset=1,
        operations=(
            "GetCards",
            "SearchRecords",
            None,
            "UpdateCard",
            "GetPipe",
            "CreateCard",
            "GetUsage",
            "UpdateFieldValue",
            "MoveCardToPhase",
            "GetTable",
        ),
        callers=(
            ("Globex ETL", 6.0),
            ("Order Gateway", 4.0),
            ("Margaret - Notebook", 1.0),
        ),
        settings=(
            SettingsChange(
                3,
                {
                    "allowances": {"apiCalls": 120_000, "aiCredits": 800},
                    "freeAiCredits": 100,
                    "aiAutomationEnabled": True,
                    "assistantsEnabled": False,
                },
            ),
        ),
        flows=(
            Flow("flow-gx-orders", "Order sync", _OPS, 24, 7.0),
            Flow("flow-gx-stock", "Stock levels", _OPS, 12, 3.0),
            Flow("flow-gx-ship", "Shipping labels", _OPS, 8, 2.5, weekdays_only=True),
            Flow("flow-gx-returns", "Returns intake", _OPS, 2, 6.0),
            Flow("flow-gx-bi", "BI warehouse load", _GX_DATA, 1, 90.0),
            Flow("flow-gx-clean", "Duplicate cleanup", _GX_DATA, 1, 25.0, weekdays_only=True),
            Flow("flow-gx-legacy", "Legacy ERP bridge", _GX_DATA, 6, 5.0, status="DISABLED"),
        ),
        agents=(
            Agent("agt-gx-support", "Support Bot", 40, 0.35),
            Agent("agt-gx-forecast", "Demand Forecaster", 2, 6.5),
        ),
    ),
    OrgProfile(
        id=INITECH,
        uuid="c38e6f32-3333-4b4c-9e2c-0f1a2b3c4d5e",
        name="Initech",
        calls_per_day=650,
        growth=1.1,
        weekend=0.1,
        utc_offset=-6,
        operations=("GetCards", "UpdateCard", None, "GetPipe", "CreateCard", "GetUsage"),
        callers=(("TPS Reports", 3.0), ("Peter - Spreadsheet", 1.0)),
        settings=(SettingsChange(3, {"assistantsEnabled": True}),),
        flows=(
            Flow("flow-it-tps", "TPS report cover sheets", _INITECH, 3, 4.0, weekdays_only=True),
            Flow("flow-it-stapler", "Stapler inventory", _INITECH, 1, 2.0),
            Flow("flow-it-memo", "Memo distribution", _INITECH, 2, 11.0, weekdays_only=True),
        ),
        assistant_sessions_per_day=12,
        assistant_credits=0.4,
    ),
    OrgProfile(
        id=UMBRELLA,
        uuid="d49f7a43-4444-4c5d-8f3d-1a2b3c4d5e6f",
        name="Umbrella Labs",
        calls_per_day=1_800,
        growth=2.2,
        weekend=0.6,
        utc_offset=9,
        operations=(
            "GetCards",
            "CreateCard",
            "UpdateCard",
            None,
            "SearchRecords",
            "CreateAttachment",
        ),
        callers=(("Lab Sync", 5.0), ("Albert - Jupyter", 1.0)),
        settings=(
            SettingsChange(
                1,
                {
                    "allowances": {
                        "apiCalls": 60_000,
                        "integrationTasks": 10_000,
                        "aiCredits": 900.5,
                    },
                    "freeAiCredits": 50,
                    "aiAutomationEnabled": True,
                    "assistantsEnabled": True,
                },
            ),
        ),
        flows=(
            Flow("flow-lab-samples", "Sample tracking", _LAB, 24, 3.0),
            Flow("flow-lab-results", "Results to LIMS", _LAB, 6, 8.0),
        ),
        agents=(Agent("agt-lab-notes", "Lab Notes Summarizer", 14, 1.25),),
        assistant_sessions_per_day=10,
        assistant_credits=0.9,
        joined=0.7,
    ),
)

SIGN_IN_USER = "ada@acme.example"
SIGN_IN_CREDENTIAL = "Dashboard"

USERS: tuple[User, ...] = (
    User(
        SIGN_IN_USER,
        "Ada",
        ((ACME, "super_admin"), (GLOBEX, "admin"), (INITECH, "super_admin"), (UMBRELLA, "admin")),
        ((SIGN_IN_CREDENTIAL, ACME), ("Python Integration", ACME)),
    ),
    User(
        "grace@acme.example",
        "Grace",
        ((ACME, "Finance viewer"),),
        (("Reports", ACME),),
    ),
    User("linus@acme.example", "Linus", ((ACME, "member"),), (("CLI", ACME),)),
    User(
        "margaret@globex.example",
        "Margaret",
        ((GLOBEX, "super_admin"),),
        (("Notebook", GLOBEX),),
    ),
    User("peter@initech.example", "Peter", ((INITECH, "member"),), (("Spreadsheet", INITECH),)),
    User(
        "albert@umbrella.example",
        "Albert",
        ((UMBRELLA, "super_admin"),),
        (("Jupyter", UMBRELLA),),
    ),
    User("guest@partner.example", "Guest", ((ACME, "external_guest"),)),
)

SERVICE_ACCOUNTS: tuple[ServiceAccount, ...] = (
    ServiceAccount(ACME, "Usage Reporter", "super_admin", description="Reads usage statistics"),
    ServiceAccount(ACME, "HR Integration Bot", "admin", description="Syncs employees"),
    ServiceAccount(ACME, "Data Warehouse", "Finance viewer", "12h"),
    ServiceAccount(ACME, "Zapier Bridge", "member", "1d"),
    ServiceAccount(ACME, "Billing Sync", "member", "1d"),
    ServiceAccount(GLOBEX, "Globex ETL", "admin", "7d"),
    ServiceAccount(GLOBEX, "Order Gateway", "member", "1h"),
    ServiceAccount(INITECH, "TPS Reports", "admin"),
    ServiceAccount(UMBRELLA, "Lab Sync", "admin", "7d"),
)
