"""Bounded, deterministic fuzz of every public endpoint against a real server (issue 11).

One real ``tallyboard serve`` process per engine (SQLite, PostgreSQL), seeded with a
tenancy over ``POST /v1/admin/apply``, receives first the known reproductions of issue
11 (the suites' seeds), then a few hundred generated requests per endpoint:
schema-driven GraphQL documents (hypothesis-graphql) made hostile, ingest batches and
bodies, OAuth token requests and tenancy documents, valid and not. Hypothesis runs
derandomized (a fixed seed), without an example database and without shrinking, so a
run sends the same requests every time and ends in bounded time (about 30 s per engine;
``TALLYBOARD_TEST_FUZZ_SCALE=10`` sends ten times as many for a deeper local run).

Every answer must be below 500, within 2 s (a hang detector, far above any normal
answer: performance is measured in bench/), JSON with a correlation id, free of
tracebacks, Python exception names, SQL and paths (tests/support/fuzz/checks.py), and
match the endpoint's documented contract (tests/support/fuzz/expectations.py). A test
does not stop at the first failure: it collects the first example of every distinct
failure (endpoint, request kind, problem) and fails listing all of them. Afterwards the
server must still meter a fresh call (no poisoned flush) and its log must hold nothing
at WARNING or above.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.backends import PostgresServer, copy_sqlite
from tests.support.fuzz.access_cases import apply_suites, oauth_suites
from tests.support.fuzz.aftermath import log_problems, metering_problem
from tests.support.fuzz.checks import Check, Recorder, Suite
from tests.support.fuzz.expectations import (
    check_apply,
    check_graphql,
    check_ingest,
    check_oauth,
)
from tests.support.fuzz.graphql_suites import graphql_suites
from tests.support.fuzz.ingest_cases import ingest_suites
from tests.support.fuzz.runner import run_suites
from tests.support.fuzz.server import ServeProcess, World, seed_world, serve

pytestmark = pytest.mark.slow

SRC = Path(__file__).parents[2] / "src"
SCALE = float(os.environ.get("TALLYBOARD_TEST_FUZZ_SCALE", "1"))
"""Multiplies every suite's number of generated examples (seeds are always sent once)."""


@dataclass
class FuzzTarget:
    server: ServeProcess
    world: World
    http: httpx.Client
    literals: tuple[str, ...]
    """Server-side strings no answer may contain (database path, source tree, prefix)."""


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    directory = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        database_url = copy_sqlite(request.getfixturevalue("_sqlite_template"), directory)
        literals: tuple[str, ...] = (database_url.removeprefix("sqlite:///"), str(directory))
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        database_url = postgres.new_database()
        literals = (database_url.rsplit("/", 1)[-1],)
    literals += (str(SRC), sys.prefix)
    with (
        serve(database_url, directory / "server.log") as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        world = seed_world(server, database_url, http)
        yield FuzzTarget(server, world, http, literals)


def fuzz(target: FuzzTarget, suites: list[Suite], check: Check) -> Recorder:
    """Send every suite's seeds and examples, checking each answer."""
    recorder = Recorder(target.http, target.literals)
    run_suites(suites, lambda sent: recorder.exchange(sent, check), SCALE)
    return recorder


def _assert_clean(recorder: Recorder, title: str) -> None:
    print(recorder.report(title))  # shown with -rP / on failure: what was sent, how fast
    assert not recorder.failures, recorder.report(title)


def test_graphql_fuzz(target: FuzzTarget) -> None:
    suites = graphql_suites(target.world)
    recorder = fuzz(target, suites, check_graphql)
    assert recorder.sent["/graphql"] >= sum(s.examples for s in suites) // 2
    _assert_clean(recorder, "GraphQL fuzz")


def test_ingest_fuzz(target: FuzzTarget) -> None:
    suites = ingest_suites(target.world)
    recorder = fuzz(target, suites, check_ingest)
    assert sum(recorder.sent.values()) >= sum(s.examples for s in suites) // 2
    _assert_clean(recorder, "Ingest fuzz")


def test_oauth_token_fuzz(target: FuzzTarget) -> None:
    suites = oauth_suites(target.world)
    recorder = fuzz(target, suites, check_oauth)
    assert recorder.sent["/oauth/token"] >= sum(s.examples for s in suites) // 2
    _assert_clean(recorder, "OAuth token fuzz")


def test_admin_apply_fuzz(target: FuzzTarget) -> None:
    suites = apply_suites(target.world)
    recorder = fuzz(target, suites, check_apply)
    assert recorder.sent["/v1/admin/apply"] >= sum(s.examples for s in suites) // 2
    _assert_clean(recorder, "Admin apply fuzz")


def test_after_the_fuzz_metering_works_and_the_log_holds_no_error(target: FuzzTarget) -> None:
    """Runs last for its engine: whatever the fuzz sent, a fresh billable call is still
    counted (no poisoned flush), and the server logged nothing at WARNING or above."""
    problems = []
    stuck = metering_problem(target.http, target.world)
    if stuck is not None:
        problems.append(stuck)
    problems += log_problems(target.server)
    assert not problems, "\n".join(problems)
