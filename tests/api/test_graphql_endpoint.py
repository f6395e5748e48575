"""The GraphQL endpoint's refusals (spec §7): each limit rejects an abusive document
before execution, with its code and status, and no field suggestions leak the schema."""

from __future__ import annotations

import uuid

import pytest

from tests.support.endpoint import executions, post, refusal
from tests.support.harness import Harness


@pytest.fixture
def token(harness: Harness) -> str:
    org = str(uuid.uuid4().int % 10**9)
    secrets = harness.apply(
        {
            "organizations": [{"id": org, "name": "Limits"}],
            "serviceAccounts": [
                {"organization": org, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
            ],
        }
    )
    return harness.service_account_tokens(secrets)["bot"]


def test_a_simple_query_executes(harness: Harness, token: str) -> None:
    response = post(harness, token, {"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b'"a string"', "JSON object"),
        (b"[]", "Batched"),
        (b'[{"query": "{ __typename }"}]', "Batched"),
        (b"{}", "no query"),
        (b'{"query": ""}', "no query"),
        (b'{"query": 5}', "no query"),
        (b'{"query": "{ __typename }", "variables": [1]}', "variables"),
        (b'{"query": "{ __typename }", "operationName": 3}', "operationName"),
    ],
)
def test_malformed_requests_are_bad_requests(
    harness: Harness, token: str, body: bytes, needle: str
) -> None:
    assert needle in refusal(post(harness, token, body), 400, "BAD_REQUEST")


def test_bodies_over_the_limit_are_refused_with_413(harness: Harness, token: str) -> None:
    padding = " " * (1024 * 1024)
    response = post(harness, token, {"query": "{ __typename }" + padding})
    assert "limit" in refusal(response, 413, "BAD_REQUEST")


def test_parse_errors_are_graphql_parse_failed(harness: Harness, token: str) -> None:
    response = post(harness, token, {"query": "{ myUsageStatsOrganizations { id "})
    refusal(response, 400, "GRAPHQL_PARSE_FAILED")
    assert response.json()["errors"][0]["locations"]


def test_validation_errors_give_no_field_suggestions(harness: Harness, token: str) -> None:
    response = post(harness, token, {"query": "{ myUsageStatsOrganization { id } }"})
    message = refusal(response, 400, "GRAPHQL_VALIDATION_FAILED")
    assert "myUsageStatsOrganization" in message
    assert "Did you mean" not in response.text


def test_bad_variable_values_are_invalid_input_without_suggestions(
    harness: Harness, token: str
) -> None:
    query = (
        'query Q($p: PeriodFilter!) { apiUsageStats(organizationUuid: "x", period: $p) { limit } }'
    )
    response = post(harness, token, {"query": query, "variables": {"p": "current_mont"}})
    refusal(response, 400, "INVALID_INPUT")
    assert "Did you mean" not in response.text


def test_several_operations_need_an_operation_name(harness: Harness, token: str) -> None:
    query = "query A { __typename } query B { __typename }"
    assert "operationName" in refusal(post(harness, token, {"query": query}), 400, "BAD_REQUEST")
    unknown = post(harness, token, {"query": query, "operationName": "C"})
    assert "'C'" in refusal(unknown, 400, "BAD_REQUEST")
    chosen = post(harness, token, {"query": query, "operationName": "B"})
    assert chosen.json() == {"data": {"__typename": "Query"}}


def nested(depth: int) -> str:
    inner = "name"
    for _ in range(depth - 1):
        inner = f"ofType {{ {inner} }}"
    return inner


def test_depth_limit(harness: Harness, token: str) -> None:
    def query(depth: int) -> str:
        # __type(1) > ofType ... > name: total depth = depth
        return f'{{ __type(name: "Query") {{ {nested(depth - 1)} }} }}'

    assert post(harness, token, {"query": query(15)}).status_code == 200
    message = refusal(post(harness, token, {"query": query(16)}), 400, "QUERY_TOO_COMPLEX")
    assert "16 levels" in message


def test_alias_limit(harness: Harness, token: str) -> None:
    def query(n: int) -> str:
        return "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"

    assert post(harness, token, {"query": query(15)}).status_code == 200
    assert "16 aliases" in refusal(
        post(harness, token, {"query": query(16)}), 400, "QUERY_TOO_COMPLEX"
    )


def test_token_limit(harness: Harness, token: str) -> None:
    query = "{ " + "__typename " * 2000 + "}"
    assert "tokens" in refusal(post(harness, token, {"query": query}), 400, "QUERY_TOO_COMPLEX")


def test_uuid_budget_is_summed_over_fields_so_aliases_cannot_multiply_it(
    harness: Harness, token: str
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(13)]
    query = """query Q($ids: [ID!]!) {
      a: apiUsageStatsCombined(organizationUuids: $ids, period: current_month) { partial }
      b: apiUsageStatsCombined(organizationUuids: $ids, period: current_month) { partial }
    }"""
    before = executions(harness)
    response = post(harness, token, {"query": query, "variables": {"ids": ids}})
    assert "26 organization UUIDs" in refusal(response, 400, "QUERY_TOO_COMPLEX")
    field = 'apiUsageStats(organizationUuid: "{}", period: last_month) {{ limit }}'
    roots = " ".join(f"a{i}: " + field.format(uuid.uuid4()) for i in range(14))
    spread = "b0: " + field.format(uuid.uuid4())
    literal = f"{{ __typename {roots} ...F }} fragment F on Query {{ {spread} }}"
    assert post(harness, token, {"query": literal}).status_code == 200
    assert executions(harness) == before + 1  # only the document within budget executed


def test_refused_documents_are_not_metered(harness: Harness, token: str) -> None:
    before = executions(harness)
    post(harness, token, {"query": "{ nope }"})
    post(harness, token, b"[]")
    post(harness, token, {"query": "{ __typename"})
    assert executions(harness) == before
    post(harness, token, {"query": "{ __typename }"})
    assert executions(harness) == before + 1


def test_graphiql_is_served_to_browsers(harness: Harness) -> None:
    response = harness.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_correlation_ids_are_unique_per_request_and_echoed(harness: Harness, token: str) -> None:
    first = post(harness, token, {"query": "{ nope }"})
    second = post(harness, token, {"query": "{ nope }"})
    ids = {r.json()["errors"][0]["extensions"]["correlation_id"] for r in (first, second)}
    assert len(ids) == 2
    assert first.headers["x-correlation-id"] in ids
