"""The bulk ledger of ``corrections_cost`` is what ingestion would have stored: each
payload is the canonical form of the event it decodes to, and the rollups folded while
generating equal the write paths' own fold of the same ledger."""

from __future__ import annotations

import hashlib
from datetime import date

import orjson
from bench.ledger_data import Chunk, LedgerGenerator

from tallyboard.domain.corrections import adjustment_deltas, event_from_payload
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_validation import canonical_payload
from tallyboard.domain.rollup import RollupDeltas

_START = 1_788_220_800_000  # 2026-09-01
_DAY_MS = 86_400_000


def _generate(rows: int) -> tuple[LedgerGenerator, list[Chunk], list[RollupDeltas]]:
    generator = LedgerGenerator([3, 5, 8], rows, _START, _START + 70 * _DAY_MS, voids=7)
    months: list[RollupDeltas] = []
    return generator, list(generator.chunks(months.append)), months


def test_payloads_are_canonical_and_every_kind_is_generated() -> None:
    _, chunks, _ = _generate(12_000)
    kinds = set()
    for chunk in chunks:
        for org_pk, _, event_id, _, time_ms, digest, payload, _, voided in chunk.events:
            event = event_from_payload(org_pk, "bench", event_id, "", payload)
            assert canonical_payload(event.type, event.time_ms, event.usage) == payload
            assert digest == hashlib.sha256(payload).digest()[:16]
            assert (event.time_ms, voided) == (time_ms, None)
            kinds.add(event.type.value)
    assert kinds == {"api.call", "integration.task", "ai.credit", "automation.job"}
    assert sum(len(c.adjustments) for c in chunks) == 2
    assert sum(len(c.flushes) for c in chunks) == 10


def test_the_folded_rollups_equal_the_write_paths_fold() -> None:
    generator, chunks, months = _generate(12_000)
    expected = RollupDeltas()
    for chunk in chunks:
        events = [event_from_payload(row[0], "", row[2], "", row[6]) for row in chunk.events]
        expected.merge(usage_deltas(events))
        for org_pk, adjustment_id, *_, payload, _, _ in chunk.adjustments:
            expected.merge(
                adjustment_deltas(event_from_payload(org_pk, "", adjustment_id, "", payload))
            )
        for _, org_pk, day, calls in chunk.flushes:
            for operation, token, count in orjson.loads(calls):
                key = (org_pk, date.fromisoformat(day), operation, token)
                expected.add_api_calls(key, count)
    folded = RollupDeltas()
    for month in months:
        folded.merge(month)
    assert len(months) == 3  # September to November, one hand-over per month
    assert folded == expected
    assert len(generator.voided) == 7
