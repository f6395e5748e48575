"""The document cache: every document real clients send is accepted under the default
limits, and documents whose cost is out of proportion to their size are refused before
they cost more than a linear pass (validation included)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from tallyboard.api.graphql import errors as codes
from tallyboard.api.graphql.document_cache import DocumentCache, footprint
from tallyboard.api.graphql.limits import measure
from tallyboard.api.graphql.schema import build_schema
from tallyboard.app import build_document_cache
from tallyboard.observability.metrics import Metrics
from tallyboard.settings import Settings
from tests.support.reference_documents import (
    PUBLIC_REFERENCE,
    dashboard_documents,
    introspection_documents,
)

SCHEMA = build_schema()


def default_cache(**overrides: Any) -> DocumentCache:
    """The cache the application builds, with the default settings unless overridden."""
    return build_document_cache(Settings(**overrides), SCHEMA, Metrics())


LEGITIMATE = {**PUBLIC_REFERENCE, **dashboard_documents(), **introspection_documents()}


def test_the_dashboard_sends_every_kind_of_document_we_check() -> None:
    assert len(dashboard_documents()) >= 8  # the extraction still finds them all


@pytest.mark.parametrize("name", sorted(LEGITIMATE))
def test_documents_real_clients_send_pass_every_limit(name: str) -> None:
    prepared = default_cache().prepare(LEGITIMATE[name])
    assert prepared.refusal is None, prepared.refusal
    # ... with room to spare: a fifth of the field bound at most.
    assert measure(parse(LEGITIMATE[name]), 25).fields * 5 <= Settings().max_fields


def doubling(levels: int) -> str:
    parts = ["fragment F0 on Query{__typename}"]
    parts += [f"fragment F{i} on Query{{...F{i - 1} ...F{i - 1}}}" for i in range(1, levels + 1)]
    return "\n".join([*parts, f"query{{...F{levels}}}"])


def repeated(count: int, text: str) -> str:
    return " ".join([text] * count)


PATHOLOGICAL = {
    # Exponential expansion: refused by the field bound before validation.
    "fragment fan-out F22": doubling(22),
    "fragment fan-out F26": doubling(26),
    # Quadratic OverlappingFieldsCanBeMerged: refused by its comparison budget.
    "one response name 450 times": "{" + repeated(450, "myUsageStatsOrganizations{id}") + "}",
    "one leaf 1,990 times": "{" + repeated(1990, "__typename") + "}",
    "one response name, differing arguments": "{"
    + " ".join(f'organization(id:"{i}"){{id}}' for i in range(220))
    + "}",
    "150 fragments of one field": "{"
    + " ".join(f"...P{i}" for i in range(150))
    + "}"
    + "".join(f" fragment P{i} on Query{{__typename}}" for i in range(150)),
    # Deep nesting: refused by the parser before it can exhaust the stack.
    "inline fragments nested 400 deep": "{" + "...on Query{" * 400 + "__typename" + "}" * 401,
    "lists nested 400 deep": "{organization(id:" + "[" * 400 + '"1"' + "]" * 400 + "){id}}",
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_documents_costly_out_of_proportion_to_their_size_are_too_complex(name: str) -> None:
    prepared = default_cache().prepare(PATHOLOGICAL[name])
    assert prepared.refusal is not None
    assert prepared.refusal.code == codes.QUERY_TOO_COMPLEX, prepared.refusal


def test_the_field_bound_is_checked_before_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    from tallyboard.api.graphql import document_cache

    def never(*_: object) -> object:
        raise AssertionError("validated a document over the field bound")

    monkeypatch.setattr(document_cache, "validate_document", never)
    refusal = default_cache().prepare(doubling(26)).refusal
    assert refusal is not None
    assert "at most 2000" in refusal.messages[0][0]


@pytest.mark.parametrize(
    "query",
    [
        # Valid but wide: many distinct fields, many variables, long argument lists.
        "query("
        + " ".join(f"$v{i}:ID" for i in range(300))
        + "){"
        + " ".join(f"o{i}:organization(id:$v{i}){{id}}" for i in range(15))
        + "}",
        "{" + " ".join("...on Query{__typename}" for _ in range(40)) + "}",
    ],
)
def test_wide_documents_are_answered_by_validation_not_by_the_budget(query: str) -> None:
    refusal = default_cache().prepare(query).refusal
    assert refusal is None or refusal.code == codes.VALIDATION_FAILED, refusal


def test_large_distinct_documents_stay_within_the_byte_bound_and_a_hot_one_stays() -> None:
    bound = 2 * 1024 * 1024
    cache = default_cache(document_cache_bytes=bound)
    hot = "{ myUsageStatsOrganizations { id uuid name } }"
    accounted = footprint(hot, cache.prepare(hot))
    for n in range(40):
        # A comment holds its text twice: in the query and in its token.
        large = f"{{ __typename }} # {n} " + "x" * 99_000
        prepared = cache.prepare(large)
        assert prepared.refusal is None
        assert footprint(large, prepared) > 2 * 99_000
        assert cache.entries.size <= bound
        assert cache.prepare(hot).refusal is None  # a request for it: recently used
        assert cache.peek(hot) is not None, f"the hot document was evicted after {n}"
    assert cache.entries.size > bound / 2  # large documents are cached, just bounded
    assert len(cache.entries) < 12
    assert accounted < 100 * 1024


def test_documents_longer_than_the_bound_are_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tallyboard.api.graphql import document_cache

    def never(*_: object, **__: object) -> object:
        raise AssertionError("parsed a document over the length bound")

    cache = default_cache()
    monkeypatch.setattr(document_cache, "parse", never)
    refusal = cache.prepare("{ __typename }" + " " * 100_000).refusal
    assert refusal is not None and refusal.code == codes.QUERY_TOO_COMPLEX
    assert "100,014 characters long; at most 100,000" in refusal.messages[0][0]
    assert len(cache.entries) == 0


def test_the_count_bound_still_holds_for_small_documents() -> None:
    cache = default_cache(document_cache_size=5)
    for n in range(20):
        cache.prepare(f"query Q{n} {{ __typename }}")
    assert len(cache.entries) == 5
    assert cache.peek("query Q19 { __typename }") is not None
    assert cache.peek("query Q0 { __typename }") is None


def test_refusals_are_cached_and_accounted_too() -> None:
    cache = default_cache()
    query = "{ nope }"
    refused = cache.prepare(query)
    assert refused.refusal is not None
    assert cache.peek(query) is refused
    assert cache.entries.size == footprint(query, refused)


def measured_and_estimated(cache: DocumentCache, texts: list[str]) -> tuple[int, int]:
    """Bytes the prepared entries really hold (tracemalloc) and what the cache accounts."""
    import gc
    import tracemalloc

    cache.prepare(texts[0] + " # warm-up: one-time caches of the schema and validator")
    kept = []
    gc.collect()
    tracemalloc.start()
    try:
        for text in texts:
            fresh = "".join(text)  # a new string: its memory counts as the entry's
            kept.append((fresh, cache.prepare(fresh)))
        gc.collect()
        measured = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return measured, sum(footprint(text, prepared) for text, prepared in kept)


@pytest.mark.parametrize(
    "template",
    [
        "{ __typename } # N" + " " * 50_000,  # padding: the text is all there is
        "{ __typename } # N" + "x" * 50_000,  # a comment: held twice
        '{ organization(id: "N' + "x" * 50_000 + '") { id } }',  # a string: twice too
        LEGITIMATE["tab-ai.js:DashboardAiCreditDetails"].replace("query ", "query QN", 1),
        LEGITIMATE["introspection (every option)"].replace("Query {", "QueryN {", 1),
        "{ nopeN " + " ".join(f"bad{i}" for i in range(150)) + " }",  # refused
    ],
    ids=["padding", "comment", "string", "dashboard", "introspection", "invalid"],
)
def test_the_accounted_size_follows_the_memory_entries_really_hold(template: str) -> None:
    texts = [template.replace("N", str(n), 1) for n in range(20)]
    measured, estimated = measured_and_estimated(default_cache(), texts)
    # Never far below (the bound would not hold), at worst a few times above.
    assert 0.6 * measured <= estimated <= 3 * measured, (measured, estimated)
