"""Pagination cursors are opaque and tamper-proof."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tallyboard.stats.cursor import CursorCodec

PAYLOADS = st.lists(
    st.one_of(st.integers(-(2**53), 2**53), st.text(max_size=40), st.booleans(), st.none()),
    max_size=5,
)


def codec(secret: bytes = b"k" * 32) -> CursorCodec:
    return CursorCodec(lambda: secret)


@given(PAYLOADS)
def test_a_cursor_decodes_to_what_was_encoded(payload: list[object]) -> None:
    c = codec()
    assert c.decode(c.encode(payload)) == payload


@settings(max_examples=300)
@given(PAYLOADS, st.data())
def test_any_edit_to_a_cursor_is_refused(payload: list[object], data: st.DataObject) -> None:
    c = codec()
    cursor = c.encode(payload)
    index = data.draw(st.integers(0, len(cursor) - 1))
    replacement = data.draw(st.sampled_from("AQgw_-.=x0"))
    tampered = cursor[:index] + replacement + cursor[index + 1 :]
    if tampered != cursor:
        assert c.decode(tampered) is None


def test_cursors_of_another_installation_or_garbage_are_refused() -> None:
    cursor = codec(b"a" * 32).encode([1, "x"])
    assert codec(b"b" * 32).decode(cursor) is None
    for garbage in ["", ".", "abc", "abc.def", "!!!.???", "x" * 5000, cursor + "."]:
        assert codec().decode(garbage) is None


def test_the_secret_is_loaded_once_and_only_when_first_needed() -> None:
    calls: list[int] = []

    def secret() -> bytes:
        calls.append(1)
        return b"s" * 32

    c = CursorCodec(secret)
    assert calls == []
    c.decode(c.encode([1]))
    c.encode([2])
    assert calls == [1]
