"""The tenancy document validates itself and reports every problem with its path."""

from __future__ import annotations

from typing import Any

import pytest

from tallyboard.admin.document import parse_document, parse_lifetime
from tallyboard.domain.errors import InvalidInputError


def problems_of(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as caught:
        parse_document(raw)
    return {p.path: p.reason for p in caught.value.problems}


def test_reports_every_structural_problem_at_once_with_paths() -> None:
    problems = problems_of(
        {
            "organizations": [
                {
                    "id": "1",
                    "nmae": "typo",
                    "settings": [{"effectiveFrom": "2026-13", "allowances": {"apiCalls": -5}}],
                }
            ],
            "serviceAccounts": [
                {"organization": "1", "name": "x" * 21, "role": "admin", "tokenLifetime": "1m"}
            ],
            "users": [{"email": "not-an-email", "name": "N"}],
        }
    )
    assert "unknown key" in problems["organizations[0].nmae"]
    assert problems["organizations[0].name"] == "is required"
    assert "YYYY-MM" in problems["organizations[0].settings[0].effectiveFrom"]
    assert (
        "greater than or equal to 0" in problems["organizations[0].settings[0].allowances.apiCalls"]
    )
    assert "20 characters" in problems["serviceAccounts[0].name"]
    assert "5 minutes and 30 days" in problems["serviceAccounts[0].tokenLifetime"]
    assert "e-mail" in problems["users[0].email"]


def test_a_document_must_be_a_mapping() -> None:
    assert "mapping" in problems_of(["not", "a", "mapping"])[""]


def test_settings_changes_keep_only_given_fields_and_explicit_nulls() -> None:
    document = parse_document(
        {
            "organizations": [
                {
                    "id": 300123,
                    "name": "Acme",
                    "settings": [
                        {
                            "effectiveFrom": "2026-09",
                            "allowances": {"apiCalls": 10, "aiCredits": None},
                            "freeAiCredits": 0.5,
                        }
                    ],
                }
            ]
        }
    )
    org = document.organizations[0]
    assert org.id == "300123"
    assert org.settings is not None
    assert org.settings[0].changes() == {
        "api_calls": 10,
        "ai_credits": None,
        "free_ai_credits": 500_000,
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 2_592_000), ("5m", 300), ("1h30m", 5_400), ("300", 300), (3600, 3600)],
)
def test_lifetimes_accept_readable_durations(text: str | int, seconds: int) -> None:
    assert parse_lifetime(text) == seconds


@pytest.mark.parametrize("text", ["4m", "31d", "soon", "", True, "10x"])
def test_lifetimes_outside_five_minutes_to_thirty_days_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match=r"duration|between"):
        parse_lifetime(text)


def test_a_custom_role_may_only_list_known_permissions() -> None:
    problems = problems_of(
        {
            "organizations": [
                {
                    "id": "1",
                    "name": "Acme",
                    "roles": [
                        {"name": "Viewer", "permissions": ["usage_stats"]},
                        {"name": "Root", "permissions": ["usage_stats", "god_mode", "usage_stat"]},
                    ],
                }
            ]
        }
    )
    assert set(problems) == {
        "organizations[0].roles[1].permissions[1]",
        "organizations[0].roles[1].permissions[2]",
    }
    reason = problems["organizations[0].roles[1].permissions[1]"]
    assert "'god_mode'" in reason
    assert "known permissions are: usage_stats" in reason


def test_a_custom_role_without_permissions_is_valid() -> None:
    document = parse_document(
        {"organizations": [{"id": "1", "name": "Acme", "roles": [{"name": "Nobody"}]}]}
    )
    roles = document.organizations[0].roles
    assert roles is not None and roles[0].permissions == []


def test_allowances_are_bounded_by_the_monthly_ceiling() -> None:
    """Allowances are summed into answers like usage (3 months, 25 organizations): at
    most the ceiling a month's usage may reach, so every sum stays exact (decision 0012)."""

    def org(settings: dict[str, Any]) -> dict[str, Any]:
        return {"organizations": [{"id": "1", "name": "A", "settings": [settings]}]}

    at_ceiling = {
        "allowances": {"apiCalls": 10**14, "integrationTasks": 10**14, "aiCredits": 10**8},
        "freeAiCredits": 99_999_999.999999,
    }
    settings = parse_document(org(at_ceiling)).organizations[0].settings
    assert settings is not None
    (entry,) = settings
    assert entry.changes() == {
        "api_calls": 10**14,
        "integration_tasks": 10**14,
        "ai_credits": 10**14,
        "free_ai_credits": 10**14 - 1,
    }
    past = {
        "allowances": {"apiCalls": 10**14 + 1, "integrationTasks": 2**62, "aiCredits": 1e8 + 1},
        "freeAiCredits": 100_000_000.000001,
    }
    problems = problems_of(org(past))
    path = "organizations[0].settings[0]"
    assert "less than or equal to 100000000000000" in problems[f"{path}.allowances.apiCalls"]
    assert "less than or equal to" in problems[f"{path}.allowances.integrationTasks"]
    assert "must not exceed 100000000" in problems[f"{path}.allowances.aiCredits"]
    assert "must not exceed 100000000" in problems[f"{path}.freeAiCredits"]
