"""The GraphQL documents clients really send: the public reference pages' examples
(copied verbatim from the published usage-statistics guides), the dashboard's documents
(read from its JavaScript, built the way it builds them) and introspection."""

from __future__ import annotations

import re
from importlib.resources import files

from graphql import get_introspection_query

__all__ = ["PUBLIC_REFERENCE", "dashboard_documents", "introspection_documents"]

PUBLIC_REFERENCE = {
    "organization": """{
  organization(id: "<ORGANIZATION_ID>") {
    uuid
  }
}""",
    "apiUsageStats": """  query apiUsageStats($organizationUuid: ID!, $period: PeriodFilter!, $dimension: GroupedAPIDimension) {
    apiUsageStats(organizationUuid: $organizationUuid, period: $period, dimension: $dimension) {
      data {
        dimension
        metric
        __typename
      }
      __typename
    }
  }""",  # noqa: E501 (verbatim)
    "integrationsUsageStats": """query integrationsUsageStats($organizationUuid: ID!, $period: PeriodFilter!) {
  integrationsUsageStats(organizationUuid: $organizationUuid, period: $period) {
    tasksConsumed {
      usage
      limit
    }
    activeFlows
    filterDate {
      from
      to
    }
    history {
      nodes {
        date
        usage
        limit
      }
    }
  }
}""",  # noqa: E501 (verbatim)
    "myUsageStatsOrganizations": """{
myUsageStatsOrganizations {
uuid
name
}
}""",
    "aiCreditUsageStatsCombined": """query aiCreditUsageStatsCombined(
$organizationUuids: [ID!]!
$period: PeriodFilter!
) {
aiCreditUsageStatsCombined(organizationUuids: $organizationUuids, period: $period) {
total {
usage
limit
aiAutomationUsage
assistantsUsage
}
byOrganization {
organizationUuid
organizationName
usage
limit
hasAddon
aiAutomation {
usage
enabled
}
assistants {
usage
enabled
}
}
topAgents {
agentId
agentName
organizationUuid
organizationName
creditsProcessed
}
filterDate {
from
to
}
partial
}
}""",
}

_CONSTANT = re.compile(r'const (\w+) = (?:`([^`]*)`|"([^"]*)");')
_PER_ORGANIZATION = re.compile(
    r'perOrganization\(ctx\.client, \{\s*operationName: "(\w+)",\s*field: "(\w+)",\s*'
    r'selection: (?:(\w+)|"([^"]*)"),'
)
ORGS_PER_ALIASED_DOCUMENT = 10  # graphql.js


def _per_organization(operation: str, field: str, selection: str) -> str:
    """The document ``perOrganization`` in graphql.js sends for a full group."""
    group = range(ORGS_PER_ALIASED_DOCUMENT)
    declarations = ", ".join(f"$o{i}: ID!" for i in group)
    fields = "\n  ".join(
        f"o{i}: {field}(organizationUuid: $o{i}, period: $period) {selection}" for i in group
    )
    return f"query {operation}($period: PeriodFilter!, {declarations}) {{\n  {fields}\n}}"


def dashboard_documents() -> dict[str, str]:
    """Every document the dashboard sends, by file and constant (or operation) name."""
    documents: dict[str, str] = {}
    static = files("tallyboard.web").joinpath("static")
    for asset in static.iterdir():
        if not asset.name.endswith(".js"):
            continue
        text = asset.read_text("utf-8")
        constants = {m[1]: m[2] if m[2] is not None else m[3] for m in _CONSTANT.finditer(text)}
        for name, value in constants.items():
            if value.lstrip().startswith("query") and "${" not in value:
                documents[f"{asset.name}:{name}"] = value
        for match in _PER_ORGANIZATION.finditer(text):
            operation, field, constant, literal = match.groups()
            selection = constants[constant] if constant else literal
            documents[f"{asset.name}:{operation}"] = _per_organization(operation, field, selection)
    return documents


def introspection_documents() -> dict[str, str]:
    """Introspection as GraphiQL and other tools send it: every optional part on."""
    return {
        "introspection": get_introspection_query(descriptions=True),
        "introspection (every option)": get_introspection_query(
            descriptions=True,
            specified_by_url=True,
            directive_is_repeatable=True,
            schema_description=True,
            input_value_deprecation=True,
            one_of=True,
        ),
    }
