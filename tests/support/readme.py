"""Keeps the README's configuration table generated from :class:`Settings`.

Run ``python -m tests.support.readme`` to rewrite the table after changing a setting.
"""

from __future__ import annotations

from pathlib import Path

from tallyboard.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def settings_table() -> str:
    rows = ["| Environment variable | Option | Default | Meaning |", "|---|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = "(unset)" if info.default is None else info.default
        option = "--" + name.replace("_", "-")
        description = (info.description or "").replace("|", "\\|")
        rows.append(f"| `TALLYBOARD_{name.upper()}` | `{option}` | `{default}` | {description} |")
    return "\n".join(rows)


def rendered(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{settings_table()}\n{END}{tail}"


if __name__ == "__main__":
    README.write_text(rendered(README.read_text("utf-8")), "utf-8")
