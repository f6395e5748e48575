"""Query latency vs volume: every statistics query of the contract, over HTTP, on data
sets of 1M, 10M and 100M API calls for one organization, next to a naive raw-events
``GROUP BY`` measured in the same run on the same engine.

How the data sets are made (same for SQLite and PostgreSQL, generated once per run and
loaded into both engines):

- One database per engine holds every tier at once: one large organization per tier
  ("1M", "10M", "100M" API calls over the last three calendar months, up to today),
  24 modest organizations (for the 25-organization combined queries) and a caller
  organization that the bench's own requests are metered to (so self-metering never
  touches the measured organizations).
- The rollup rows are written directly with bulk inserts (``executemany`` on SQLite,
  ``COPY`` on PostgreSQL) into the tables the readers use, in exactly the shape
  ``storage/rollup_writer.py`` produces: per day and per month, one TOTAL row plus one
  row per operation name and per token label, flow rows per (day|month, flow) with
  tasks/runs/last run, ``task_usage_daily``, AI-credit rows per (day|month, resource,
  agent). Operation names, tokens, flows and agents follow Zipf-like skew; the number
  of distinct values grows with the tier (see ``TIERS``), as it does in real tenants.
- Spec §9 (``automation_data``): pipes, the automation catalog and about as many
  automation jobs as API calls (per automation per day and per month), and the agents'
  catalog fields. Their series (``automation_client``) send the documents public
  clients send: a first page by usage, and a later page with a search and a filter.
- The naive baseline has what a naive implementation would store: one row per API call
  in a typed table ``bench_naive_api_calls(org_pk, time_ms, operation_name, token)``
  with an index on ``(org_pk, time_ms)`` -- a *charitable* baseline (no JSON to parse,
  unlike the real ``events`` table), so the measured speed-up is a lower bound. It
  holds the very calls the rollups count, and the run checks that the naive top 10
  equals the HTTP answer. Raw rows exist for the 1M and 10M tiers (100M raw rows
  would take longer to load than the whole section may run).

Requests are sent one at a time from this process over a keep-alive connection to a
real ``tallyboard serve`` (latency, not throughput). The combined queries run against
two servers on the same database: one with a one-hour cache TTL after a warm-up
("hit": every per-organization figure comes from the cache) and one with a
one-microsecond TTL ("miss": every request recomputes all 25 organizations).

Split by job: ``plan`` (sizes, series, targets), ``dataset`` (generation), ``loading``
(bulk load and the naive table), ``client`` (the documents and HTTP), ``runner`` (the
measurement) and ``rendering`` (the report section).
"""

from __future__ import annotations

from bench.query_latency.plan import SECTION, TITLE
from bench.query_latency.rendering import render
from bench.query_latency.runner import run

__all__ = ["SECTION", "TITLE", "render", "run"]
