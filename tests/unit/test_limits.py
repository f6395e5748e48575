"""Static GraphQL limits measured on the AST: depth, aliases and the UUID budget."""

from __future__ import annotations

from graphql import get_introspection_query, parse

from tallyboard.api.graphql.limits import count_aliases, max_depth, plan_operations


def test_depth_counts_fields_through_fragments_and_inline_fragments() -> None:
    document = parse("query { a { ...F } } fragment F on T { b { ... on T { c { d } } } }")
    assert max_depth(document) == 4


def test_the_standard_introspection_query_fits_the_default_depth() -> None:
    assert max_depth(parse(get_introspection_query(descriptions=True))) <= 15


def test_fragment_cycles_do_not_hang_the_depth_check() -> None:
    assert max_depth(parse("query { ...A } fragment A on Q { x { ...A } }")) == 1


def test_aliases_are_counted_everywhere_in_the_document() -> None:
    document = parse("query { a: x b: y { c: z } ...F } fragment F on Q { d: w }")
    assert count_aliases(document) == 4


def test_uuid_budget_counts_every_field_use_and_caps_each_field_at_the_limit() -> None:
    plans = plan_operations(
        parse(
            """
            query Q($ids: [ID!]!, $one: ID!) {
              a: apiUsageStatsCombined(organizationUuids: $ids, period: current_month) { partial }
              b: apiUsageStatsCombined(organizationUuids: $ids, period: current_month) { partial }
              c: apiUsageStats(organizationUuid: $one, period: current_month) { limit }
              d: apiUsageStats(organizationUuid: "x", period: current_month) { limit }
              e: aiCreditUsageStatsCombined(
                organizationUuids: ["1", "2", $one], period: last_month
              ) { partial }
            }
            """
        ),
        per_field=25,
    )
    plan = plans["Q"]
    assert plan.root_keys == {"a", "b", "c", "d", "e"}
    assert plan.uuid_count({"ids": ["u"] * 5, "one": "u"}, 25) == 5 + 5 + 1 + 1 + 3
    assert plan.uuid_count({"ids": ["u"] * 40, "one": "u"}, 25) == 25 + 25 + 1 + 1 + 3
