"""``schema.graphql`` at the repository root is exactly what the server serves."""

from __future__ import annotations

from pathlib import Path

from tallyboard.api.graphql.schema import schema_sdl

ROOT = Path(__file__).resolve().parents[2]


def test_exported_schema_is_current() -> None:
    exported = (ROOT / "schema.graphql").read_text("utf-8")
    assert exported == schema_sdl(), "schema.graphql is stale: run `make schema`"


def test_served_schema_has_every_contract_query() -> None:
    sdl = schema_sdl()
    for field in (
        "organization(",
        "myUsageStatsOrganizations",
        "apiUsageStats(",
        "apiUsageStatsGroupedBy(",
        "apiUsageStatsDaily(",
        "apiUsageStatsCombined(",
        "integrationsUsageStats(",
        "integrationsUsageDetails(",
        "aiCreditUsageStats(",
        "aiCreditUsageStatsCombined(",
    ):
        assert field in sdl
