"""The README stays true: its configuration table is the settings the code reads."""

from __future__ import annotations

from tests.support.readme import README, rendered


def test_configuration_table_lists_every_setting() -> None:
    text = README.read_text("utf-8")
    assert text == rendered(text), "README is stale: run `python -m tests.support.readme`"


def test_readme_shows_the_first_run_commands() -> None:
    text = README.read_text("utf-8")
    assert "make demo" in text
    assert "make test" in text
