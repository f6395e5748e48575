"""Every structured log field is written, whatever its type, in both formats."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from tallyboard.observability.logging import configure_logging

FIELDS: dict[str, Any] = {
    "calls_by_org_pk": {1: 2, 9: 3},
    "orgs": {3, 1},
    "raw": b"\xffab",
    "error": ValueError("broken"),
    "at": datetime(2026, 11, 21, 10, 30, tzinfo=UTC),
    "huge": 2**70,
    "surrogate": "a\ud800b",
    "by_pair": {(1, "x"): 3},
    "sentence": "two words",
    "plain": "abc",
    "nothing": None,
}


@pytest.fixture
def emit(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def emit(log_format: str, **extra: Any) -> str:
        configure_logging("info", log_format)
        root.handlers[0].stream = sys.stderr  # type: ignore[attr-defined]  # capsys's
        logging.getLogger("tallyboard.test").error("it happened", extra=extra)
        return capsys.readouterr().err

    yield emit
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_keep_every_field_in_a_json_form(emit: Any) -> None:
    record = orjson.loads(emit("json", **FIELDS))
    assert record["msg"] == "it happened" and record["level"] == "error"
    assert record["calls_by_org_pk"] == {"1": 2, "9": 3}
    assert record["orgs"] == [1, 3]
    assert record["raw"] == "\\xffab"
    assert record["error"] == "ValueError: broken"
    assert record["at"] == "2026-11-21T10:30:00+00:00"
    assert record["huge"] == str(2**70)
    assert record["surrogate"] == "a\\ud800b"
    assert record["by_pair"] == {"[1, 'x']": 3}
    assert (record["sentence"], record["plain"], record["nothing"]) == ("two words", "abc", None)


def test_text_lines_show_every_field_as_key_value(emit: Any) -> None:
    line = emit("text", **FIELDS).rstrip("\n")
    assert " ERROR tallyboard.test: it happened " in line
    for pair in (
        'calls_by_org_pk={"1":2,"9":3}',
        "orgs=[1,3]",
        'raw="\\\\xffab"',
        'error="ValueError: broken"',
        'at="2026-11-21T10:30:00+00:00"',
        f'huge="{2**70}"',
        'sentence="two words"',
        "plain=abc",
        "nothing=null",
    ):
        assert f" {pair}" in line, pair
    assert "\n" not in line


def test_a_field_nothing_can_serialize_does_not_lose_the_line(emit: Any) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no text for you")

        __repr__ = __str__

    record = orjson.loads(emit("json", weird=Hostile(), calls=5))
    assert record["msg"] == "it happened"
    assert "RuntimeError" in record["log_error"]
    line = emit("text", weird=Hostile(), calls=5)
    assert 'it happened weird="<not printable: RuntimeError>" calls=5' in line
