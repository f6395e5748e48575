"""The validation microbench compares like with like (decision 0016): its pydantic
validator produces the same events and the same messages as the hand validator."""

from __future__ import annotations

from bench.event_validation import INVALID, PydanticValidator, valid_batch

from tallyboard.domain.event_validation import EventValidator


def test_both_validators_produce_the_same_events() -> None:
    batch = valid_batch(60)
    hand = [EventValidator().validate(raw, i) for i, raw in enumerate(batch)]
    assert hand == [PydanticValidator().validate(raw, i) for i, raw in enumerate(batch)]


def test_both_validators_reject_with_the_same_messages() -> None:
    for index, raw in enumerate(INVALID):
        assert EventValidator().validate(raw, index) == PydanticValidator().validate(raw, index)
