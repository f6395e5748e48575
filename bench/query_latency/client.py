"""The GraphQL documents of every series and the keep-alive HTTP client that times them."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

from bench.query_latency.automation_client import automation_bodies
from bench.query_latency.loading import LoadedDatabase
from bench.query_latency.plan import LATER_PAGE, SMALL_ORGS
from bench.server import Server

_API = """query Q($org: ID!, $period: PeriodFilter!, $dim: GroupedAPIDimension) {
  apiUsageStats(organizationUuid: $org, period: $period, dimension: $dim) {
    data { dimension metric } limit filterDate { from to } } }"""
_GROUPED = """query Q($org: ID!, $period: PeriodFilter!, $dim: GroupedAPIDimension) {
  apiUsageStatsGroupedBy(organizationUuid: $org, period: $period, dimension: $dim) {
    data { dimension metric } limit filterDate { from to } } }"""
_DAILY = """query Q($org: ID!, $period: PeriodFilter!) {
  apiUsageStatsDaily(organizationUuid: $org, period: $period) {
    data { date metric } filterDate { from to } } }"""
_API_COMBINED = """query Q($orgs: [ID!]!, $period: PeriodFilter!) {
  apiUsageStatsCombined(organizationUuids: $orgs, period: $period) {
    total { usage limit }
    byOrganization { organizationUuid organizationName usage limit }
    operations: topItems(dimension: operation_name) {
      dimension metric organizationUuid organizationName }
    tokens: topItems(dimension: token) { dimension metric organizationUuid organizationName }
    filterDate { from to } partial } }"""
_INT_STATS = """query Q($org: ID!, $period: PeriodFilter!) {
  integrationsUsageStats(organizationUuid: $org, period: $period) {
    tasksConsumed { usage limit } activeFlows filterDate { from to }
    history { nodes { date usage limit } } } }"""
_INT_DETAILS = """query Q($org: ID!, $period: PeriodFilter!, $search: String,
    $sort: SortCriteria, $first: Int, $after: String) {
  integrationsUsageDetails(organizationUuid: $org, period: $period, search: $search,
      sort: $sort, first: $first, after: $after) {
    totalFlows totalTasks
    edges { cursor node { id name project { name icon color } tasks runs lastRunAt status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } filterDate { from to } } }"""
_AI = """query Q($org: ID!, $period: PeriodFilter!) {
  aiCreditUsageStats(organizationUuid: $org, period: $period) {
    active usage limit hasAddon updatedAt filterDate { from to }
    aiAutomation { usage enabled } assistants { usage enabled } freeAiCredit { limit usage } } }"""
_AI_COMBINED = """query Q($orgs: [ID!]!, $period: PeriodFilter!) {
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: $period) {
    total { usage limit aiAutomationUsage assistantsUsage }
    byOrganization { organizationUuid organizationName usage limit hasAddon
      aiAutomation { usage enabled } assistants { usage enabled } }
    topAgents { agentId agentName organizationUuid organizationName creditsProcessed }
    filterDate { from to } partial } }"""


class Client:
    """Sequential GraphQL requests over one keep-alive connection."""

    def __init__(self, server: Server, token: str) -> None:
        self._port = server.port
        self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=60)
        self._headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def post(self, body: bytes) -> tuple[float, bytes]:
        started = time.perf_counter()
        try:
            self._conn.request("POST", "/graphql", body, self._headers)
            response = self._conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed an idle keep-alive connection (e.g. during the naive
            # baseline); reconnect. Callers send an untimed request first, so a
            # reconnection is never part of a measured sample.
            self._conn.close()
            self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=60)
            started = time.perf_counter()
            self._conn.request("POST", "/graphql", body, self._headers)
            response = self._conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:500]!r}")
        return elapsed, data

    def ask(self, body: bytes) -> dict[str, Any]:
        _, data = self.post(body)
        answer: dict[str, Any] = json.loads(data)
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer

    def close(self) -> None:
        self._conn.close()


def _body(document: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": document, "variables": variables}).encode()


def bodies(client: Client, loaded: LoadedDatabase, tier: str, period: str) -> dict[str, bytes]:
    """The request body of every series for one tier and period (resolving the later page's
    cursor by walking the pages first)."""
    org = loaded.uuids[tier]
    orgs = [org] + [loaded.uuids[f"small-{i}"] for i in range(SMALL_ORGS)]
    one = {"org": org, "period": period}
    many = {"orgs": orgs, "period": period}
    search = {**one, "search": "sync", "sort": {"by": "name", "order": "asc"}, "first": 20}
    after = None
    for _ in range(LATER_PAGE):
        page = client.ask(_body(_INT_DETAILS, {**search, "after": after}))
        after = page["data"]["integrationsUsageDetails"]["pageInfo"]["endCursor"]
    first = {**one, "sort": {"by": "usage", "order": "desc"}, "first": 20}
    return {
        "apiUsageStats.top_operations": _body(_API, {**one, "dim": "operation_name"}),
        "apiUsageStats.top_operations.cold": _body(_API, {**one, "dim": "operation_name"}),
        "apiUsageStats.total": _body(_API, one),
        "apiUsageStatsGroupedBy.token": _body(_GROUPED, {**one, "dim": "token"}),
        "apiUsageStatsDaily": _body(_DAILY, one),
        "apiUsageStatsCombined.hit": _body(_API_COMBINED, many),
        "apiUsageStatsCombined.miss": _body(_API_COMBINED, many),
        "integrationsUsageStats": _body(_INT_STATS, one),
        "integrationsUsageDetails.first": _body(_INT_DETAILS, first),
        "integrationsUsageDetails.first.cold": _body(_INT_DETAILS, first),
        "integrationsUsageDetails.later": _body(_INT_DETAILS, {**search, "after": after}),
        "integrationsUsageDetails.later.cold": _body(_INT_DETAILS, {**search, "after": after}),
        "aiCreditUsageStats": _body(_AI, one),
        "aiCreditUsageStatsCombined.hit": _body(_AI_COMBINED, many),
        "aiCreditUsageStatsCombined.miss": _body(_AI_COMBINED, many),
        **automation_bodies(client, org, orgs, period),
    }
