"""What the edge hands to resolvers and endpoints: the services and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tallyboard.access.authenticator import Authenticator
from tallyboard.access.oauth import OAuthService
from tallyboard.access.policy import Policy
from tallyboard.access.principal import Principal
from tallyboard.admin.applier import Applier
from tallyboard.cache.per_org import PerOrgCache
from tallyboard.domain.clock import Clock
from tallyboard.ingest.backpressure import Backpressure
from tallyboard.ingest.retention import RetentionSweeper
from tallyboard.ingest.service import IngestService
from tallyboard.metering.accumulator import Accumulator
from tallyboard.observability.failures import FailureLog
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.queries import StatisticsQueries
from tallyboard.storage.database import Database

__all__ = ["RequestContext", "Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the edge may call, wired once by ``tallyboard.app.create_app``."""

    database: Database
    clock: Clock
    metrics: Metrics
    failures: FailureLog
    policy: Policy
    authenticator: Authenticator
    oauth: OAuthService
    applier: Applier
    accumulator: Accumulator
    ingest: IngestService
    ingest_backpressure: Backpressure
    retention: RetentionSweeper
    max_org_uuids: int
    stats_cache: PerOrgCache
    queries: StatisticsQueries


@dataclass(slots=True)
class RequestContext:
    """Per-request context of GraphQL resolvers: the read side and the caller, only."""

    queries: StatisticsQueries
    principal: Principal
    correlation_id: str
    warnings: list[dict[str, Any]] = field(default_factory=list)
