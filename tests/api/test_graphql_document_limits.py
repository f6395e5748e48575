"""Documents that cost far more than their size are refused before validation, and the
UUID budget holds whatever supplies the UUIDs (literals, variables, default values)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.endpoint import executions, post, refusal
from tests.support.harness import Harness


def member_token(harness: Harness) -> str:
    """A service account with no permission at all: the cheapest credential to get."""
    org = str(uuid.uuid4().int % 10**9)
    secrets = harness.apply(
        {
            "organizations": [{"id": org, "name": "Limits"}],
            "serviceAccounts": [
                {"organization": org, "name": "bot", "role": "member", "tokenLifetime": "1h"}
            ],
        }
    )
    return harness.service_account_tokens(secrets)["bot"]


@pytest.fixture
def token(harness: Harness) -> str:
    return member_token(harness)


def doubling(levels: int) -> str:
    parts = ["fragment F0 on Query{__typename}"]
    parts += [f"fragment F{i} on Query{{...F{i - 1} ...F{i - 1}}}" for i in range(1, levels + 1)]
    parts.append(f"query{{...F{levels}}}")
    return "\n".join(parts)


def test_fragment_fan_out_is_refused_naming_the_expanded_size_and_the_limit(
    harness: Harness, token: str
) -> None:
    assert post(harness, token, {"query": doubling(10)}).json() == {"data": {"__typename": "Query"}}
    for levels in (22, 26):
        message = refusal(
            post(harness, token, {"query": doubling(levels)}), 400, "QUERY_TOO_COMPLEX"
        )
        assert f"{2**levels:,} fields" in message
        assert "at most 2000" in message


def test_the_field_limit_is_a_setting(sqlite_url: str) -> None:
    with Harness(sqlite_url, max_fields=1000) as harness:
        bot = member_token(harness)
        assert post(harness, bot, {"query": doubling(9)}).status_code == 200
        message = refusal(post(harness, bot, {"query": doubling(10)}), 400, "QUERY_TOO_COMPLEX")
        assert "1,024 fields" in message and "at most 1000" in message


def test_documents_too_costly_to_validate_are_refused_as_too_complex(
    harness: Harness, token: str
) -> None:
    # 450 fields sharing one response name: OverlappingFieldsCanBeMerged compares every
    # pair (0.8 s of CPU under graphql-core's own budget).
    overlapping = "{" + " ".join("myUsageStatsOrganizations{id}" for _ in range(450)) + "}"
    message = refusal(post(harness, token, {"query": overlapping}), 400, "QUERY_TOO_COMPLEX")
    assert "too complex to validate" in message
    nested = "{" + "...on Query{" * 400 + "__typename" + "}" * 401
    assert "nested too deeply" in refusal(
        post(harness, token, {"query": nested}), 400, "QUERY_TOO_COMPLEX"
    )


def combined_fields(count: int, argument: str) -> str:
    field = f"apiUsageStatsCombined(organizationUuids: {argument}, period: current_month)"
    return " ".join(f"a{i}: {field} {{ partial }}" for i in range(count))


def test_default_values_count_toward_the_uuid_budget(harness: Harness, token: str) -> None:
    uuids = ", ".join(f'"{uuid.uuid4()}"' for _ in range(25))
    query = f"query Q($u: [ID!]! = [{uuids}]) {{ {combined_fields(15, '$u')} }}"
    before = executions(harness)
    message = refusal(post(harness, token, {"query": query}), 400, "QUERY_TOO_COMPLEX")
    assert "375 organization UUIDs" in message
    # The same document with a short list in the request executes: defaults only stand in
    # for variables the request omits.
    response = post(harness, token, {"query": query, "variables": {"u": [str(uuid.uuid4())]}})
    assert response.status_code == 200, response.text
    assert executions(harness) == before + 1


def test_defaults_of_single_ids_and_within_budget_lists_count_like_literals(
    harness: Harness, token: str
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(13)]
    listed = ", ".join(f'"{i}"' for i in ids)
    single = "apiUsageStats(organizationUuid: $one, period: current_month) { limit }"
    query = (
        f'query Q($u: [ID!]! = [{listed}], $one: ID! = "{uuid.uuid4()}") '
        f"{{ {combined_fields(2, '$u')} s: {single} }}"
    )
    message = refusal(post(harness, token, {"query": query}), 400, "QUERY_TOO_COMPLEX")
    assert "27 organization UUIDs" in message
    within = f"query Q($u: [ID!]! = [{listed}]) {{ {combined_fields(1, '$u')} }}"
    assert post(harness, token, {"query": within}).status_code == 200


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


PERIOD_QUERY = (
    'query Q($p: PeriodFilter!) { apiUsageStats(organizationUuid: "8a1c4f10-1111-4d2c-9c2a-'
    'abc123def456", period: $p) { limit } }'
)
IDS_QUERY = (
    "query Q($p: [ID!]!) "
    "{ apiUsageStatsCombined(organizationUuids: $p, period: current_month) { partial } }"
)


@pytest.mark.parametrize("depth", [254, 300, 1000])
def test_deeply_nested_variables_are_invalid_input_or_ignored_never_a_server_error(
    harness: Harness, token: str, depth: int
) -> None:
    value = nested(depth)
    for query in (
        PERIOD_QUERY,
        IDS_QUERY,
        "query Q($p: ID!) { ... on Query { organization(id: $p) { id } } }",
    ):
        body = f'{{"query": {json.dumps(query)}, "variables": {{"p": {value}}}}}'
        refusal(post(harness, token, body.encode()), 400, "INVALID_INPUT")
    # Variables the operation does not declare, and extensions, are ignored.
    for extra in (f'"variables": {{"junk": {value}}}', f'"extensions": {{"x": {value}}}'):
        body = f'{{"query": "{{ __typename }}", {extra}}}'
        response = post(harness, token, body.encode())
        assert response.json() == {"data": {"__typename": "Query"}}, response.text
    assert "no query" in refusal(
        post(harness, token, f'{{"a": {value}}}'.encode()), 400, "BAD_REQUEST"
    )


def test_json_nested_past_what_the_parser_reads_is_a_bad_request_naming_the_problem(
    harness: Harness, token: str
) -> None:
    for body in (
        nested(2000),
        f'{{"query": "{{ __typename }}", "variables": {{"p": {nested(1100)}}}}}',
    ):
        message = refusal(post(harness, token, body.encode()), 400, "BAD_REQUEST")
        assert "more than 1024 levels deep" in message


def test_long_documents_are_refused_before_they_are_read(harness: Harness, token: str) -> None:
    # 900 KB of comment fits the body limit and every token limit; lexing it alone would
    # cost 0.2 s of CPU per distinct document.
    query = "{ __typename }\n#" + "x" * 900_000
    message = refusal(post(harness, token, {"query": query}), 400, "QUERY_TOO_COMPLEX")
    assert "900,016 characters long; at most 100,000 are allowed" in message
