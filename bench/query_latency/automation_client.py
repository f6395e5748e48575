"""The request bodies of the spec §9 series: the documents public clients send.

The listings select what the public command-line client selects (the issue's
``AgentsUsageDetails`` document, and the same for automations), with the paging,
search, filter and sort variables the clients pass. First pages sort by usage
descending in the ``field``/``direction`` spelling; later pages search, filter on
``status`` with a single value (coerced to a list, as clients send it) and sort by
name. The day-range listings get the period's whole days: the current month from its
1st to its last second, or the whole last_3_months window.
"""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime
from typing import Any, Protocol

from bench.query_latency.automation_data import AUTOMATION_SEARCH
from bench.query_latency.dataset import days_of
from bench.query_latency.plan import AGENTS_LATER_PAGE, LATER_PAGE

__all__ = ["automation_bodies", "date_range"]

_NODE = (
    "id name usage status action event actionRepo { uuid name } eventRepo { uuid name } "
    "createdAt updatedAt"
)
_LISTING = """query {name}($organizationUuid: ID!, $filterDate: DateRange!, $search: String,
    $filters: FilterParams, $sort: SortCriteria, $first: Int, $after: String) {{
  {field}(organizationUuid: $organizationUuid, filterDate: $filterDate, search: $search,
      filters: $filters, sort: $sort) {{
    usage
    {connection}(first: $first, after: $after) {{
      nodes {{ {node} }}
      totalCount
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""
AUTOMATIONS = _LISTING.format(
    name="AutomationsUsageDetails",
    field="automationsUsageDetails",
    connection="automations",
    node=_NODE,
)
AGENTS = _LISTING.format(
    name="AgentsUsageDetails", field="agentsUsageDetails", connection="agents", node=_NODE
)
COMBINED = """query AutomationsUsageDetailsCombined($organizationUuids: [ID!]!,
    $period: PeriodFilter!) {
  automationsUsageDetailsCombined(organizationUuids: $organizationUuids, period: $period) {
    total { usage }
    byOrganization { organizationUuid organizationName usage lastUpdatedAt }
    byPipe { pipe { uuid name icon color } organizationUuid organizationName usage
      lastUpdatedAt }
    topAutomations { id name usage action event status actionRepo { uuid name }
      eventRepo { uuid name } createdAt createdBy { id name avatarUrl } updatedAt
      organizationUuid organizationName }
    filterDate { from to }
    partial
  }
}"""


def date_range(period: str, today: date) -> dict[str, str]:
    """The DateRange a client sends for ``period``: whole days up to the month's end."""
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    first = today.replace(day=1) if period == "current_month" else days_of(today)[0]
    return {"from": f"{first.isoformat()}T00:00:00Z", "to": f"{last.isoformat()}T23:59:59Z"}


def _body(document: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": document, "variables": variables}).encode()


class Asker(Protocol):
    """What ``client.Client`` offers that the page walk needs."""

    def ask(self, body: bytes) -> dict[str, Any]: ...


def _later(
    client: Asker, document: str, field: str, variables: dict[str, Any], pages: int
) -> dict[str, Any]:
    """The variables of the page after ``pages`` pages (or of the last page, when there
    are fewer), walking the cursors as a client does."""
    connection = "automations" if field == "automationsUsageDetails" else "agents"
    after = None
    for _ in range(pages):
        answer = client.ask(_body(document, {**variables, "after": after}))
        info = answer["data"][field][connection]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    return {**variables, "after": after}


def automation_bodies(client: Asker, org: str, orgs: list[str], period: str) -> dict[str, bytes]:
    """The bodies of the §9 series for one organization (and the 25 of the combined)."""
    one = {"organizationUuid": org, "filterDate": date_range(period, datetime.now(UTC).date())}
    first = {**one, "sort": {"field": "usage", "direction": "desc"}, "first": 20}
    bodies: dict[str, bytes] = {}
    for document, field, search, size, pages in (
        (AUTOMATIONS, "automationsUsageDetails", AUTOMATION_SEARCH, 20, LATER_PAGE),
        (AGENTS, "agentsUsageDetails", "agent", 10, AGENTS_LATER_PAGE),
    ):
        filtered = {
            **one,
            "search": search,
            "filters": {"status": "active"},
            "sort": {"by": "name", "order": "asc"},
            "first": size,
        }
        later = _later(client, document, field, filtered, pages)
        for key, variables in (("first", first), ("later", later)):
            bodies[f"{field}.{key}"] = bodies[f"{field}.{key}.cold"] = _body(document, variables)
    combined = _body(COMBINED, {"organizationUuids": orgs, "period": period})
    bodies["automationsUsageDetailsCombined.hit"] = combined
    bodies["automationsUsageDetailsCombined.miss"] = combined
    return bodies
