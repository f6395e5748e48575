"""GraphQL request suites for the fuzz: the documents of ``graphql_cases`` with every
kind of credential and content type, bodies that are not GraphQL requests at all, and
the known reproductions of issue 11's GraphQL hazards, sent first (seeds).
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis_graphql import Mode, queries

from tests.support.fuzz.checks import Sent, Suite
from tests.support.fuzz.graphql_cases import (
    SCHEMA,
    Case,
    aliased,
    control_characters,
    corrupted,
    deep_document,
    deep_variables,
    fanout,
    fanout_document,
    introspection,
    lifted,
    long_name,
    long_operation_name,
    named,
    oversized,
    scalars,
    several,
    uuid_budget,
    uuid_document,
)
from tests.support.fuzz.server import World
from tests.support.fuzz.values import encode, nested_json

__all__ = ["Auth", "auths", "graphql_suites"]

MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Auth:
    label: str
    header: str | None
    ok: bool
    """A credential the GraphQL endpoint must accept."""


_RAW = [
    b"",
    b"{",
    b"null",
    b"[]",
    b"{}",
    b'"x"',
    b"123",
    b'{"query": null}',
    b'{"query": ""}',
    b'{"query": "   "}',
    b'{"query": 5}',
    b'{"query": ["{ __typename }"]}',
    b'{"query": {"a": 1}}',
    b'{"query": "{ __typename }", "variables": []}',
    b'{"query": "{ __typename }", "variables": "x"}',
    b'{"query": "{ __typename }", "variables": 7}',
    b'{"query": "{ __typename }", "operationName": 5}',
    b'{"query": "{ __typename }", "operationName": ["a"]}',
    b'{"query": "{ __typename \xff }"}',
    b'{"query": 1, "query": "{ __typename }"}',
    b'{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1}}}',
    b'\xef\xbb\xbf{"query": "{ __typename }"}',
    b'{"query": "{ __typename }"} trailing',
    b'{"query": "{ __typename }", "variables": {"a": 1e999}}',
    b'{"query": "{ __typename }", "variables": {"a": NaN}}',
    b'{"query": "{ __typename }", "variables": {"a": "\\ud800"}}',
]


def _oversized_body(size: int) -> bytes:
    """A body just over the 1 MiB limit (built on demand: hypothesis prints strategies)."""
    return b'{"query": "' + b"#" * size + b'\\n{ __typename }"}'


def _raw_bodies(positive: st.SearchStrategy[str]) -> st.SearchStrategy[Case]:
    batch = st.lists(positive, min_size=1, max_size=3).map(
        lambda qs: encode([{"query": q} for q in qs])
    )
    deep = st.integers(min_value=1, max_value=5_000).map(lambda n: nested_json(n).encode())
    oversized = st.integers(min_value=MAX_BODY - 20, max_value=MAX_BODY + 20).map(_oversized_body)
    raw = st.one_of(st.sampled_from(_RAW), st.binary(max_size=300), batch, deep, oversized)
    return raw.map(lambda body: Case("raw body", None, raw=body))


def auths(world: World, *, good_only: bool = False) -> st.SearchStrategy[Auth]:
    """Bearer credentials the endpoint accepts (and, unless ``good_only``, a quarter of
    credentials it must refuse)."""
    tokens = world.tokens
    good = st.sampled_from(["super", "super", "super", "viewer", "member", "personal"]).map(
        lambda label: Auth(label, f"Bearer {tokens[label]}", ok=True)
    )
    if good_only:
        return good
    fixed = [
        Auth("no header", None, ok=False),
        Auth("empty header", "", ok=False),
        Auth("scheme only", "Bearer", ok=False),
        Auth("basic", "Basic Zm9vOmJhcg==", ok=False),
        Auth("unknown token", "Bearer tb_sat_" + "A" * 43, ok=False),
        Auth("truncated token", f"Bearer {tokens['super'][:-1]}", ok=False),
        Auth("ingest key", f"Bearer {world.ingest_keys['all']}", ok=False),
        Auth("client secret", f"Bearer {world.client[1]}", ok=False),
    ]
    printable = st.text(alphabet=string.printable.strip() + " ", max_size=80)
    bad = st.one_of(
        st.sampled_from(fixed), printable.map(lambda t: Auth("random", t.strip() or "x", ok=False))
    )
    return st.one_of(good, good, good, bad)


def graphql_suites(world: World) -> list[Suite]:
    """Every kind of GraphQL request with its number of examples (about 380 in all)."""
    values = scalars(world)
    positive = queries(SCHEMA, custom_scalars=values)
    negative = queries(SCHEMA, custom_scalars=values, mode=Mode.NEGATIVE)
    # Any credential (a quarter of them bad) for the broad families; a good one for those
    # aimed at a known hazard, which only shows once the credential is accepted.
    anyone, good = auths(world), auths(world, good_only=True)
    seeds = _seeds(world)
    cases: list[tuple[int, st.SearchStrategy[Case], st.SearchStrategy[Auth]]] = [
        (60, positive.map(lambda q: Case("schema query", q)), anyone),
        (40, negative.map(lambda q: Case("schema query, one violation", q)), anyone),
        (40, lifted(positive), anyone),
        (25, named(positive), anyone),
        (15, several(positive), anyone),
        (15, aliased(positive), anyone),
        (10, uuid_budget(world, "literals"), good),
        (10, uuid_budget(world, "variables"), good),
        (10, uuid_budget(world, "defaults"), good),
        (10, long_name(positive), good),
        (20, control_characters(world), good),
        (12, fanout(positive), good),
        (15, introspection(), anyone),
        (15, oversized(world), anyone),
        (15, deep_variables(), good),
        (30, corrupted(positive), anyone),
        (40, _raw_bodies(positive), anyone),
    ]
    content_types = st.sampled_from(
        ["application/json"] * 6 + ["application/json; charset=utf-8", "text/plain", ""]
    )
    suites = [Suite(0, None, tuple(seeds))]
    suites += [
        Suite(examples, st.builds(_sent, strategy, auth, content_types))
        for examples, strategy, auth in cases
    ]
    return suites


def _seeds(world: World) -> list[Sent]:
    """The reproductions issue 11 gives for /graphql, each sent once with a good token."""
    super_admin = Auth("super", f"Bearer {world.tokens['super']}", ok=True)
    uuids = list(itertools.islice(itertools.cycle(world.org_uuids), 15))
    deep = (
        "query($x: [ID!]!) { apiUsageStatsCombined(organizationUuids: $x, "
        "period: current_month) { partial } }"
    )
    cases = [
        fanout_document(21, "__typename"),  # item 1: 2^21 spreads of one fragment
        Case(  # item 2: a name PostgreSQL cannot index, executed and metered
            "long operation name",
            f"query {long_operation_name(4_000, 0)} {{ myUsageStatsOrganizations {{ id }} }}",
        ),
        uuid_document("apiUsageStatsCombined", [uuids, uuids], "defaults"),  # item 3
        Case(  # item 5: NUL in an identifier
            "control characters",
            "query($v: ID!) { organization(id: $v) { id } }",
            {"v": world.org_ids[0] + "\x00"},
        ),
        deep_document(deep, nested_json(300)),  # item 13: 300 levels
    ]
    return [_sent(case, super_admin, "application/json") for case in cases]


def _sent(case: Case, auth: Auth, content_type: str) -> Sent:
    headers = {"Content-Type": content_type} if content_type else {}
    if auth.header is not None:
        headers["Authorization"] = auth.header
    context = {"auth": auth.label, "auth_ok": auth.ok, "uuids": case.uuids}
    return Sent("/graphql", case.kind, case.body(), headers, context=context)
