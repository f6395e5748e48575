"""The SQL keyset page of flows against the Python listing, on both engines (hypothesis).

``flow_page`` orders, filters, counts and cuts pages in SQL; ``flows_with_usage``
followed by ``paginate`` (tests/support/flow_reference.py) is the reference. Whatever
the catalog and usage, walking every page with both must give the same rows, totals
and page flags -- ties on tasks and status, flows known only from usage, lower-case
stored statuses and usage outside the period included.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from tallyboard.stats.flow_listing import FlowFilter, FlowKey, FlowSort, Position, cut
from tallyboard.stats.flow_listing import flow_row as _row
from tallyboard.storage import integration_reader as reader
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.flow_reference import flows_with_usage, matches, ordered, paginate
from tests.support.rollup_writes import new_org

FLOW_IDS = st.sampled_from(["a", "B", "b", "f-1", "f-10", "f-2", "Ä", "z", "日本"])
CATALOG = st.dictionaries(
    FLOW_IDS,
    st.tuples(
        st.sampled_from(["ENABLED", "DISABLED", "enabled"]),
        st.sampled_from([None, "p1", "p2", "missing"]),
    ),
    max_size=8,
)
USAGE = st.dictionaries(
    st.tuples(st.sampled_from(["2026-09", "2026-10", "2026-11"]), FLOW_IDS),
    st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 5)),
    max_size=14,
)
MONTHS = st.sampled_from([["2026-10"], ["2026-09", "2026-10", "2026-11"], ["2026-12"]])
SORTS = [FlowSort.parse(by, order) for by in ("usage", "status") for order in ("asc", "desc")]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    catalog=CATALOG,
    usage=USAGE,
    months=MONTHS,
    status=st.sampled_from([None, "ENABLED", "DISABLED"]),
    first=st.integers(1, 4),
)
def test_sql_pages_agree_with_the_python_listing(
    database_url: str,
    catalog: dict[str, tuple[str, str | None]],
    usage: dict[tuple[str, str], tuple[int, int, int]],
    months: list[str],
    status: str | None,
    first: int,
) -> None:
    database = Database(database_url)
    org, other = new_org(database), new_org(database)
    with database.write() as conn:
        for pk in (org, other):
            conn.execute(
                insert(t.projects),
                [
                    {"org_pk": pk, "project_id": p, "name": p.upper(), "icon": None, "color": "x"}
                    for p in ("p1", "p2")
                ],
            )
        rows = [
            {"org_pk": org, "flow_id": fid, "name": f"Flow {fid}", "project_id": prj, "status": st}
            for fid, (st, prj) in catalog.items()
        ]
        rows.append(
            {
                "org_pk": other,
                "flow_id": "noise",
                "name": "N",
                "project_id": None,
                "status": "ENABLED",
            }
        )
        conn.execute(insert(t.flows), rows)
        usage_rows = [
            {
                "org_pk": org,
                "month": month,
                "flow_id": fid,
                "tasks": tasks,
                "runs": runs,
                "last_run_at": last if runs else 0,
            }
            for (month, fid), (tasks, runs, last) in usage.items()
        ]
        usage_rows.append(
            {"org_pk": other, "month": "2026-10", "flow_id": "a", "tasks": 9, "runs": 1,
             "last_run_at": 1}
        )  # fmt: skip
        conn.execute(insert(t.flow_usage_monthly), usage_rows)

    flow_filter = FlowFilter(status, None)
    with database.read() as conn:
        everything = [_row(r) for r in flows_with_usage(conn, org, months)]
        for sort in SORTS:
            position: Position | None = None
            for _ in range(20):
                expected = paginate(everything, flow_filter, sort, first, position)
                after = None if position is None else (position.value, position.flow_id)
                got = reader.flow_page(
                    conn,
                    org,
                    months,
                    status=status,
                    by_status=sort.field.value == "status",
                    descending=sort.descending,
                    first=first,
                    after=after,
                )
                assert tuple(_row(r) for r in got.records) == expected.rows
                assert (got.total_flows, got.total_tasks) == (
                    expected.total_flows,
                    expected.total_tasks,
                )
                assert (got.has_next, got.has_previous) == (
                    expected.has_next,
                    expected.has_previous,
                )
                if not expected.has_next:
                    break
                last = expected.rows[-1]
                position = Position(sort.value(last), last.id)
        # The Python listing's single statement: same rows, ordered by id in byte order,
        # so case-folded searches and name orders cut the same pages.
        listed = reader.flow_records(conn, org, months)
        by_id = {r.id: r for r in everything}
        assert [reader.record(r).flow_id for r in listed] == sorted(by_id)
        assert all(_row(reader.record(r)) == by_id[str(r[0])] for r in listed)
        keys: list[FlowKey] = [
            (r.id, r.name, r.status, None if r.project is None else r.project.name, r.tasks)
            for r in everything
        ]
        for search in (None, "flow ", "p1", "ä"):
            for sort in [*SORTS, FlowSort.parse("name", "asc"), FlowSort.parse("name", "desc")]:
                listing = FlowFilter(status, search)
                # The row-object reference (filter, then order), independent of cut.
                matching = ordered(sort, (r for r in everything if matches(listing, r)))
                found = cut(keys, listing, sort, first, None)
                assert [everything[i] for i in found.indices] == matching[:first]
                assert found.total_flows == len(matching)
                assert found.has_next == (len(matching) > first)
    database.dispose()
