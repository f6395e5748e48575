"""Static GraphQL limits measured on the AST: depth, aliases, the expanded field count
and the UUID budget -- each definition walked once, however often it is spread."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from graphql import SelectionSetNode, get_introspection_query, parse

from tallyboard.api.graphql import limits
from tallyboard.api.graphql.limits import SATURATED, measure


def doubling(levels: int) -> str:
    """``F(i)`` spreads ``F(i-1)`` twice: 2**levels fields once expanded."""
    parts = ["fragment F0 on Query { __typename }"]
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    parts.append(f"query {{ ...F{levels} }}")
    return "\n".join(parts)


def test_depth_counts_fields_through_fragments_and_inline_fragments() -> None:
    document = parse("query { a { ...F } } fragment F on T { b { ... on T { c { d } } } }")
    assert measure(document, 25).depth == 4


def test_the_standard_introspection_query_fits_the_default_depth() -> None:
    assert measure(parse(get_introspection_query(descriptions=True)), 25).depth <= 15


def test_fragment_cycles_do_not_hang_the_walk() -> None:
    shape = measure(
        parse("query { ...A } fragment A on Q { x { ...B } } fragment B on Q { ...A }"), 25
    )
    assert shape.depth == 1
    assert shape.fields == 1


def test_aliases_are_counted_everywhere_in_the_document() -> None:
    document = parse("query { a: x b: y { c: z } ...F } fragment F on Q { d: w }")
    assert measure(document, 25).aliases == 4


def test_fields_are_counted_with_every_spread_expanded() -> None:
    document = parse("query { a { ...F ...F } ... on Q { ...F } } fragment F on T { x y { z } }")
    assert measure(document, 25).fields == 1 + 3 * 3
    assert measure(parse(doubling(22)), 25).fields == 2**22


def test_expanded_counts_saturate_instead_of_growing_without_bound() -> None:
    shape = measure(parse(doubling(80)), 25)
    assert shape.fields == SATURATED


def _count_walks(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """How often ``limits`` walks each selection set's body, by the set's identity."""
    walked: Counter[int] = Counter()
    walk_body = limits._walk_body

    def counting(selection_set: SelectionSetNode, *args: Any) -> Any:
        walked[id(selection_set)] += 1
        return walk_body(selection_set, *args)

    monkeypatch.setattr(limits, "_walk_body", counting)
    return walked


def test_each_definition_body_is_walked_once_however_often_it_is_spread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walked = _count_walks(monkeypatch)
    document = parse(doubling(26))
    shape = measure(document, 25)
    assert shape.fields == 2**26
    bodies = [d.selection_set for d in document.definitions]  # type: ignore[attr-defined]
    assert len(bodies) == 28
    assert walked == Counter(id(body) for body in bodies)


def test_uuid_budget_counts_every_field_use_and_caps_each_field_at_the_limit() -> None:
    plans = measure(
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
        25,
    ).operations
    plan = plans["Q"]
    assert plan.root_keys == {"a", "b", "c", "d", "e"}
    assert plan.uuid_count({"ids": ["u"] * 5, "one": "u"}, 25) == 5 + 5 + 1 + 1 + 3
    assert plan.uuid_count({"ids": ["u"] * 40, "one": "u"}, 25) == 25 + 25 + 1 + 1 + 3


def test_uuid_budget_counts_a_fragment_as_often_as_it_is_spread() -> None:
    document = parse(
        """
        query Q($ids: [ID!]!) { ...Twice ... on Query { ...Twice } }
        fragment Twice on Query { ...Once ...Once }
        fragment Once on Query {
          apiUsageStats(organizationUuid: "u", period: current_month) { limit }
          apiUsageStatsCombined(organizationUuids: $ids, period: current_month) { partial }
        }
        """
    )
    plan = measure(document, 25).operations["Q"]
    assert plan.root_keys == {"apiUsageStats", "apiUsageStatsCombined"}
    assert plan.uuid_count({"ids": ["u", "v"]}, 25) == 4 * 1 + 4 * 2


def test_root_keys_come_only_from_the_root_level() -> None:
    document = parse("{ a ...F x { ...F } } fragment F on Q { b ... on Q { c } }")
    assert measure(document, 25).operations[None].root_keys == {"a", "b", "c", "x"}


def test_default_values_count_when_the_request_omits_the_variable() -> None:
    uuids = ", ".join(f'"u{i}"' for i in range(30))
    document = parse(
        f"""
        query Q($ids: [ID!]! = [{uuids}], $one: ID = "z", $none: [ID!] = null) {{
          a: apiUsageStatsCombined(organizationUuids: $ids, period: current_month) {{ partial }}
          b: apiUsageStatsCombined(organizationUuids: $ids, period: current_month) {{ partial }}
          c: apiUsageStats(organizationUuid: $one, period: current_month) {{ limit }}
          d: apiUsageStatsCombined(organizationUuids: $none, period: current_month) {{ partial }}
        }}
        """
    )
    plan = measure(document, 25).operations["Q"]
    assert plan.uuid_count({}, 25) == 25 + 25 + 1
    assert plan.uuid_count({"ids": ["u"], "one": None}, 25) == 1 + 1
    assert plan.uuid_count({"none": ["u"] * 3, "ids": []}, 25) == 1 + 3


REPORT = """createUsageReportExport(input: %s) { usageReportExport { id } }"""


def test_uuid_budget_counts_uuids_inside_literal_input_objects() -> None:
    document = parse(
        "mutation M($one: ID!, $ids: [ID!]!) { "
        + " ".join(
            f"r{n}: " + REPORT % value
            for n, value in enumerate(
                (
                    '{organizationUuids: ["a", "b", "c"], period: current_month}',
                    "{organizationUuids: $ids, period: current_month}",
                    '{organizationUuids: ["d", $one], period: current_month}',
                    '{nested: [{organizationUuid: "e"}, {deeper: {organizationUuids: $ids}}]}',
                    "{organizationUuids: null, period: current_month}",
                )
            )
        )
        + " }"
    )
    plan = measure(document, 25).operations["M"]
    assert plan.uuid_count({"one": "u", "ids": ["u"] * 4}, 25) == 3 + 4 + 2 + 1 + 4
    assert plan.uuid_count({"one": "u", "ids": ["u"] * 40}, 25) == 3 + 25 + 2 + 1 + 25


def test_uuid_budget_counts_uuids_inside_input_object_variables() -> None:
    document = parse(
        """
        mutation M($input: CreateUsageReportExportInput!, $period: PeriodFilter!) {
          a: createUsageReportExport(input: $input) { usageReportExport { id } }
          b: createUsageReportExport(input: $input) { usageReportExport { id } }
          c: createUsageReportExport(input: {organizationUuids: ["x"], period: $period}) {
            usageReportExport { id }
          }
        }
        """
    )
    plan = measure(document, 25).operations["M"]
    report = {"organizationUuids": ["u"] * 13, "period": "current_month"}
    assert plan.uuid_count({"input": report, "period": "last_month"}, 25) == 13 + 13 + 1
    many = {"organizationUuids": ["u"] * 30, "period": "current_month"}
    assert plan.uuid_count({"input": many, "period": "last_month"}, 25) == 25 + 25 + 1
    assert plan.uuid_count({"input": None, "period": "last_month"}, 25) == 1
    # Keys at any depth of the value count; other keys and scalars do not.
    deep = {"x": [{"organizationUuid": "u"}, {"y": {"organizationUuids": ["u", "v"]}}]}
    assert plan.uuid_count({"input": deep, "period": ["organizationUuids"]}, 25) == 2 * 3 + 1


def test_input_object_defaults_count_when_the_request_omits_the_variable() -> None:
    uuids = ", ".join(f'"u{i}"' for i in range(13))
    document = parse(
        f"""
        mutation M($input: CreateUsageReportExportInput! = {{
          organizationUuids: [{uuids}], period: current_month
        }}) {{
          a: createUsageReportExport(input: $input) {{ usageReportExport {{ id }} }}
          b: createUsageReportExport(input: $input) {{ usageReportExport {{ id }} }}
        }}
        """
    )
    plan = measure(document, 25).operations["M"]
    assert plan.uuid_count({}, 25) == 26
    assert plan.uuid_count({"input": {"organizationUuids": ["u"]}}, 25) == 2


def test_uuids_in_input_objects_count_as_often_as_their_fragment_is_spread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walked = _count_walks(monkeypatch)
    levels = 30
    parts = [
        "fragment F0 on Mutation { "
        + REPORT % '{organizationUuids: ["a"], period: current_month}'
        + " createUsageReportExport(input: $input) { usageReportExport { id } } }"
    ]
    parts += [
        f"fragment F{i} on Mutation {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)
    ]
    parts.append(f"mutation M($input: CreateUsageReportExportInput!) {{ ...F{levels} }}")
    document = parse("\n".join(parts))
    plan = measure(document, 25).operations["M"]
    assert plan.uuid_count({"input": {"organizationUuids": ["u", "v"]}}, 25) == 3 * 2**levels
    assert max(walked.values()) == 1
