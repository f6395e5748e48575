"""Global options generated from :class:`Settings`, so CLI and environment never drift.

Every setting ``foo_bar`` is also ``--foo-bar`` before the command name
(``tallyboard --database-url postgresql://... serve``); an option given on the
command line wins over ``TALLYBOARD_FOO_BAR``.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any

import typer
from pydantic import ValidationError

from tallyboard.settings import Settings

__all__ = ["export_to_environment", "install_global_options", "load_settings"]


def _option_type(annotation: Any) -> type:
    text = str(annotation)
    if annotation is int or text == "int":
        return int
    if annotation is float or text == "float":
        return float
    return str


def install_global_options(app: typer.Typer) -> None:
    parameters = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    ]
    annotations: dict[str, Any] = {"ctx": typer.Context, "return": None}
    for name, info in Settings.model_fields.items():
        kind = _option_type(info.annotation)
        env = f"TALLYBOARD_{name.upper()}"
        option = typer.Option(
            None,
            f"--{name.replace('_', '-')}",
            help=f"{info.description} [env: {env}; default: {info.default}]",
            show_default=False,
        )
        annotation = kind | None
        parameters.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation
            )
        )
        annotations[name] = annotation

    def root(ctx: typer.Context, **overrides: Any) -> None:
        ctx.obj = {k: v for k, v in overrides.items() if v is not None}

    root.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    root.__annotations__ = annotations
    root.__doc__ = (
        "Tallyboard: exact usage metering and usage statistics.\n\n"
        "Every option below can also be set with its TALLYBOARD_* environment variable."
    )
    app.callback()(root)


def load_settings(ctx: typer.Context, **extra: Any) -> Settings:
    overrides = {**(ctx.find_root().obj or {}), **{k: v for k, v in extra.items() if v is not None}}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        typer.echo("Configuration error:\n" + "\n".join(lines), err=True)
        sys.exit(2)


def export_to_environment(settings: Settings) -> None:
    """Hand settings to child processes (uvicorn workers) through their environment."""
    for name, value in settings.model_dump().items():
        key = f"TALLYBOARD_{name.upper()}"
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = str(value)
