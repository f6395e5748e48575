"""What the GraphQL resolvers may call: one method per statistic, and nothing else (no
database, no cache).

Every statistic runs the same steps, in this order, here and only here:

1. its typed input (``stats/inputs.py``), parsed by the edge, has already reported
   every invalid argument at once;
2. the policy authorizes the principal (``PERMISSION_DENIED``, or a combined scope
   that drops what is not permitted and says ``partial``);
3. the period is resolved against the clock (:meth:`StatisticsQueries.window`);
4. the family's service (``ApiUsageStatistics``, ``IntegrationStatistics``,
   ``AiCreditStatistics``) reads through its reader in ``storage/``.

The composition root builds one ``StatisticsQueries`` (:func:`build_statistics_queries`)
and the edge hands it to every resolver through ``RequestContext.queries``. ``label``
arguments are the metric labels the edge counts each query under.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Generic, TypeVar

from tallyboard.access.policy import Action, Policy
from tallyboard.access.principal import Principal
from tallyboard.cache.per_org import PerOrgCache
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import PermissionDeniedError
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import Period, PeriodWindow, resolve_period
from tallyboard.domain.text import character_problem
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.ai_credits import AiCreditDetails, AiCreditStatistics, CombinedAiCredits
from tallyboard.stats.alerts import AlertStatistics, UsageForecast
from tallyboard.stats.allowances import Allowances
from tallyboard.stats.api_usage import (
    ApiUsageStatistics,
    ApiUsageSummary,
    CombinedApiUsage,
    DailyItem,
)
from tallyboard.stats.automation_combined import AutomationStatistics, CombinedAutomations
from tallyboard.stats.cursor import CursorCodec, PagePosition
from tallyboard.stats.finality import Finality
from tallyboard.stats.inputs import (
    ApiUsageInput,
    CombinedInput,
    FlowDetailsInput,
    OrganizationInput,
    OrganizationOnlyInput,
)
from tallyboard.stats.integrations import FlowDetails, IntegrationStatistics, IntegrationSummary
from tallyboard.stats.organization_profile import OrganizationProfile, read_profile
from tallyboard.stats.prepared_catalog import PreparedCatalogs
from tallyboard.stats.scope import CombinedScope, combined_scope
from tallyboard.stats.usage_details import (
    EntryKind,
    UsageDetails,
    UsageDetailsStatistics,
    UsagePage,
    prepare,
)
from tallyboard.stats.usage_details_input import PageInput, UsageDetailsInput
from tallyboard.storage.alert_reader import StoredAlert
from tallyboard.storage.database import Database

__all__ = ["ListingResult", "Result", "StatisticsQueries", "build_statistics_queries"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """A statistic and the period window it covers (every answer shows its dates)."""

    window: PeriodWindow
    value: T
    final: bool = False
    """Every month of the window is closed (section 11)."""


@dataclass(frozen=True, slots=True)
class ListingResult:
    """An automations or agents listing: its period is a day range, not a window."""

    details: UsageDetails
    final: bool
    """Every month one of its days falls in is closed (section 11)."""


@dataclass(frozen=True, slots=True)
class StatisticsQueries:
    """The read side of the product, as the GraphQL edge sees it."""

    clock: Clock
    database: Database
    policy: Policy
    max_org_uuids: int
    stats_cache: PerOrgCache
    cursors: CursorCodec
    api_usage: ApiUsageStatistics
    integrations: IntegrationStatistics
    ai_credits: AiCreditStatistics
    details: UsageDetailsStatistics
    automations: AutomationStatistics
    alerts: AlertStatistics
    finality: Finality

    def _result(self, window: PeriodWindow, value: T) -> Result[T]:
        """Every answer's envelope: its window and whether the window is final."""
        return Result(window, value, self.finality.final(window))

    def window(self, period: Period) -> PeriodWindow:
        """The one place a period is resolved (against the clock, now)."""
        return resolve_period(period, self.clock.now())

    def _organization(
        self, principal: Principal, action: Action, request: OrganizationInput | ApiUsageInput
    ) -> tuple[OrgRef, PeriodWindow]:
        org = self.policy.require(principal, action, request.organization_uuid)
        return org, self.window(request.period)

    def _combined(
        self, principal: Principal, action: Action, request: CombinedInput
    ) -> tuple[CombinedScope, PeriodWindow]:
        scope = combined_scope(self.policy, principal, request.organization_uuids, action)
        return scope, self.window(request.period)

    # ------------------------------------------------------------ organizations

    def organization(self, principal: Principal, org_id: str) -> OrgRef:
        """``organization(id)``: the same denial for unknown and forbidden ids."""
        if character_problem(org_id) is not None:
            # No organization can have such an id (domain/text.py): answer as for any
            # unknown one, without asking the database (PostgreSQL refuses NUL).
            raise PermissionDeniedError
        return self.policy.require_by_id(principal, Action.VIEW_ORGANIZATION, org_id)

    def organization_profile(self, principal: Principal, org: OrgRef) -> OrganizationProfile:
        """``planName``, ``role``, counts and ``createdAt`` of an organization the
        principal was already shown (``organization`` or ``myUsageStatsOrganizations``)."""
        role = self.policy.role_in(principal, org.uuid)
        return read_profile(self.database, org, role, self.clock.now())

    def usage_stats_organizations(self, principal: Principal) -> list[OrgRef]:
        """``myUsageStatsOrganizations``: every organization whose statistics it may see."""
        return self.policy.all_permitted(principal, Action.VIEW_USAGE_STATS)

    # ------------------------------------------------------------ API usage

    def api_usage_summary(
        self, principal: Principal, request: ApiUsageInput, *, label: str
    ) -> Result[ApiUsageSummary]:
        org, window = self._organization(principal, Action.VIEW_USAGE_STATS, request)
        summary = self.api_usage.summary(org, window, request.dimension, label=label)
        return self._result(window, summary)

    def api_usage_daily(
        self, principal: Principal, request: OrganizationInput, *, label: str
    ) -> Result[list[DailyItem]]:
        org, window = self._organization(principal, Action.VIEW_USAGE_STATS, request)
        return self._result(window, self.api_usage.daily(org, window, label=label))

    def api_usage_combined(
        self, principal: Principal, request: CombinedInput, *, label: str
    ) -> Result[CombinedApiUsage]:
        scope, window = self._combined(principal, Action.VIEW_USAGE_STATS, request)
        return self._result(window, self.api_usage.combined(scope, window, label=label))

    # ------------------------------------------------------------ integrations

    def integration_summary(
        self, principal: Principal, request: OrganizationInput, *, label: str
    ) -> Result[IntegrationSummary]:
        org, window = self._organization(principal, Action.VIEW_USAGE_STATS, request)
        return self._result(window, self.integrations.summary(org, window, label=label))

    def integration_details(
        self, principal: Principal, request: FlowDetailsInput, *, label: str
    ) -> Result[FlowDetails]:
        org = self.policy.require(principal, Action.VIEW_USAGE_STATS, request.organization_uuid)
        window = self.window(request.period)
        return self._result(window, self.integrations.details(org, window, request, label=label))

    # ------------------------------------------------------------ AI credits

    def ai_credit_details(
        self, principal: Principal, request: OrganizationInput, *, label: str
    ) -> Result[AiCreditDetails]:
        org, window = self._organization(principal, Action.VIEW_AI_CREDIT_DETAILS, request)
        return self._result(window, self.ai_credits.for_organization(org, window, label=label))

    def ai_credits_combined(
        self,
        principal: Principal,
        request: CombinedInput,
        build: Callable[[CombinedAiCredits], T],
        *,
        label: str,
    ) -> Result[T]:
        """``build`` shapes the answer; the answer is reused while its figures are
        unchanged (``AiCreditStatistics.combined_answer``)."""
        # Authorization first: only permitted organizations ever reach the cache.
        scope, window = self._combined(principal, Action.VIEW_USAGE_STATS, request)
        return self._result(
            window, self.ai_credits.combined_answer(scope, window, build, label=label)
        )

    # ------------------------------------------------------------ automations, agents

    def usage_details(
        self, principal: Principal, request: UsageDetailsInput, kind: EntryKind, *, label: str
    ) -> ListingResult:
        """``automationsUsageDetails`` / ``agentsUsageDetails`` (``super_admin``)."""
        org = self.policy.require(principal, Action.VIEW_USAGE_DETAILS, request.organization_uuid)
        details = self.details.details(org, kind, request, label=label)
        today = self.clock.now().astimezone(UTC).date()
        return ListingResult(details, self.finality.final_months(request.days.months, today))

    def automations_combined(
        self, principal: Principal, request: CombinedInput, *, label: str
    ) -> Result[CombinedAutomations]:
        scope, window = self._combined(principal, Action.VIEW_USAGE_STATS, request)
        return self._result(window, self.automations.combined(scope, window, label=label))

    def usage_page(self, details: UsageDetails, request: PageInput) -> UsagePage:
        """A page of a listing this request was already authorized for."""
        return self.details.page(details, request)

    # ------------------------------------------------------------ allowance alerts

    def usage_alerts(
        self, principal: Principal, request: OrganizationInput, *, label: str
    ) -> Result[list[StoredAlert]]:
        org, window = self._organization(principal, Action.VIEW_USAGE_STATS, request)
        return self._result(window, self.alerts.alerts(org, window, label=label))

    def usage_forecast(
        self, principal: Principal, request: OrganizationOnlyInput, *, label: str
    ) -> UsageForecast:
        org = self.policy.require(principal, Action.VIEW_USAGE_STATS, request.organization_uuid)
        return self.alerts.forecast(org, label=label)


def build_statistics_queries(
    database: Database,
    clock: Clock,
    metrics: Metrics,
    policy: Policy,
    stats_cache: PerOrgCache,
    *,
    max_org_uuids: int,
    reuse_answers: bool,
) -> StatisticsQueries:
    """Every statistic service, wired once (called by the composition root)."""
    allowances = Allowances(database)
    cursors = CursorCodec.from_database(database)
    catalogs = PreparedCatalogs(prepare)  # one per process: both automations listings
    return StatisticsQueries(
        clock=clock,
        database=database,
        policy=policy,
        max_org_uuids=max_org_uuids,
        stats_cache=stats_cache,
        cursors=cursors,
        api_usage=ApiUsageStatistics(database, metrics, stats_cache, reuse_answers=reuse_answers),
        integrations=IntegrationStatistics(
            database, allowances, PagePosition(cursors), metrics, reuse_answers=reuse_answers
        ),
        ai_credits=AiCreditStatistics(database, allowances, stats_cache, clock, metrics),
        details=UsageDetailsStatistics(
            database, PagePosition(cursors), metrics, reuse_answers=reuse_answers, catalogs=catalogs
        ),
        automations=AutomationStatistics(database, stats_cache, metrics, catalogs),
        alerts=AlertStatistics(database, allowances, clock, metrics),
        finality=Finality(database),
    )
