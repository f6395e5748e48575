"""``tallyboard``: serve, migrate, administer, ingest, and print the schema."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
import uvicorn
from rich.console import Console

from tallyboard.access.admin_tokens import AdminTokenState
from tallyboard.admin.document import load_text, parse_duration
from tallyboard.admin.draft import read_document
from tallyboard.api.graphql.schema import schema_sdl
from tallyboard.cli.config import export_to_environment, install_global_options, load_settings
from tallyboard.cli.corrections import register as register_corrections
from tallyboard.cli.demo import announce, prepare_demo
from tallyboard.cli.ingest import direct_file, ingest_file
from tallyboard.cli.problems import database_problem
from tallyboard.cli.server import raise_open_files_limit, server_options
from tallyboard.cli.webhooks import webhooks_app
from tallyboard.components import Components, build_components
from tallyboard.domain.errors import InvalidInputError, NotMigratedError, ServiceUnavailableError
from tallyboard.domain.periods import format_datetime
from tallyboard.observability.logging import configure_logging
from tallyboard.settings import Settings
from tallyboard.storage import migrate as migrations
from tallyboard.storage.database import Database, redact_url

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
install_global_options(app)
admin_app = typer.Typer(no_args_is_help=True, help="Instance administration.")
token_app = typer.Typer(no_args_is_help=True, help="Instance admin tokens.")
admin_app.add_typer(token_app, name="token")
app.add_typer(admin_app, name="admin")
app.add_typer(webhooks_app, name="webhooks")


def _migrated(settings: Settings) -> Components:
    """The composition root's services, on a database that is migrated (else exit 1)."""
    components = build_components(settings)
    try:
        migrations.check_migrated(components.database)
    except NotMigratedError as exc:
        typer.echo(exc.message, err=True)
        sys.exit(1)
    return components


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes")] = None,
) -> None:
    """Run the HTTP server (GraphQL, ingest, admin, dashboard)."""
    run_server(load_settings(ctx, host=host, port=port, workers=workers))


def run_server(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    _migrated(settings).close()
    export_to_environment(settings)
    raise_open_files_limit()
    typer.echo(
        f"Tallyboard on {settings.base_url}/ (GraphQL at {settings.base_url}/graphql)", err=True
    )
    uvicorn.run(
        "tallyboard.app:create_app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        **server_options(settings),
    )


@app.command()
def demo(
    ctx: typer.Context,
    path: Annotated[Path, typer.Option(help="Where to create the demo database")] = Path(
        "data/demo.db"
    ),
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare only")] = False,
) -> None:
    """Create a fresh demo database (tenants, tokens, usage) and serve it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        typer.echo(
            f"Cannot create the directory {path.parent} for the demo database: "
            f"{exc.strerror}. Choose another place with --path.",
            err=True,
        )
        sys.exit(1)
    settings = load_settings(ctx, database_url=f"sqlite:///{path.resolve()}", host=host, port=port)
    console = Console(stderr=True)
    build = prepare_demo(path, settings, console)
    announce(Console(), settings.base_url, build)
    if not no_serve:
        update: dict[str, object] = {"workers": 1}
        if "log_format" not in settings.model_fields_set:
            update["log_format"] = "text"  # someone is watching this terminal
        run_server(settings.model_copy(update=update))


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Create or upgrade the database schema (safe to run repeatedly)."""
    settings = load_settings(ctx)
    database = Database(settings.database_url)
    before = migrations.current_revision(database)
    migrations.upgrade(database)
    after = migrations.current_revision(database)
    where = redact_url(settings.database_url)
    if before == after:
        typer.echo(f"{where} is up to date (revision {after}).")
    else:
        typer.echo(f"Migrated {where} from {before or 'empty'} to revision {after}.")
    database.dispose()


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL) exactly as the server serves it."""
    sys.stdout.write(schema_sdl())


@admin_app.command("apply")
def admin_apply(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The tenancy document (YAML or JSON)")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the created secrets, as JSON")
    ] = False,
) -> None:
    """Apply a tenancy document: all of it, or (on any problem) nothing."""
    settings = load_settings(ctx)
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        typer.echo(f"Cannot read {file}: {exc.strerror}", err=True)
        sys.exit(2)
    components = _migrated(settings)
    try:
        document = read_document(load_text(text, filename=file.name))
        result = components.applier.apply(document)
    except InvalidInputError as exc:
        if as_json:
            problems = [{"path": p.path, "reason": p.reason} for p in exc.problems]
            sys.stdout.write(orjson.dumps({"errors": problems}).decode() + "\n")
        else:
            typer.echo(f"{file} was not applied ({len(exc.problems)} problems):", err=True)
            for problem in exc.problems:
                typer.echo(f"  {problem}", err=True)
        sys.exit(1)
    finally:
        components.close()
    if as_json:
        sys.stdout.write(orjson.dumps(result.secrets(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    typer.echo(result.summary())
    secrets = result.secrets()
    if any(secrets.values()):
        typer.echo("\nNew secrets (shown once; store them now):")
        for account in secrets["serviceAccounts"]:
            typer.echo(
                f"  service account {account['organization']}/{account['name']}: "
                f"client_id={account['clientId']} client_secret={account['clientSecret']}"
            )
        for token in secrets["personalTokens"]:
            typer.echo(f"  personal token {token['user']}/{token['name']}: {token['token']}")
        for key in secrets["ingestKeys"]:
            typer.echo(f"  ingest key {key['name']}: {key['key']}")
        for hook in secrets["webhooks"]:
            typer.echo(f"  webhook {hook['name']} signing secret: {hook['secret']}")


@token_app.command("create")
def admin_token_create(
    ctx: typer.Context,
    label: Annotated[str, typer.Option(help="A note on who or what uses the token")] = "",
    expires_in: Annotated[
        str | None,
        typer.Option(help="Lifetime such as 90d, 12h or 45m (default: until revoked)"),
    ] = None,
) -> None:
    """Mint an instance admin token and print it (it is shown only this once)."""
    settings = load_settings(ctx)
    lifetime = _duration(expires_in) if expires_in else None
    components = _migrated(settings)
    try:
        token = components.admin_tokens.mint(label, lifetime)
    finally:
        components.close()
    sys.stdout.write(token + "\n")


@token_app.command("list")
def admin_token_list(ctx: typer.Context) -> None:
    """List instance admin tokens (never their secrets): id, label, state."""
    components = _migrated(load_settings(ctx))
    try:
        tokens = components.admin_tokens.tokens()
    finally:
        components.close()
    for token in tokens:
        if token.since is None:
            state = token.state.value
        elif token.state is AdminTokenState.ACTIVE:
            state = f"active until {format_datetime(token.since)}"
        else:
            state = f"{token.state.value} {format_datetime(token.since)}"
        typer.echo(f"{token.pk}\t{format_datetime(token.created_at)}\t{state}\t{token.label}")


@token_app.command("revoke")
def admin_token_revoke(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="The id shown by `admin token list`")],
) -> None:
    """Revoke an instance admin token; it stops working at once."""
    components = _migrated(load_settings(ctx))
    try:
        revoked = components.admin_tokens.revoke(token_id)
    finally:
        components.close()
    if not revoked:
        typer.echo(f"No active admin token with id {token_id}.", err=True)
        sys.exit(1)
    typer.echo(f"Revoked admin token {token_id}.")


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        typer.echo(f"--expires-in {exc}", err=True)
        sys.exit(2)


@app.command()
def ingest(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="NDJSON file: one event per line")],
    url: Annotated[
        str | None,
        typer.Option(
            envvar="TALLYBOARD_INGEST_URL",
            help="Server to send to (default: http://HOST:PORT from the settings)",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="TALLYBOARD_INGEST_KEY",
            help="Ingest key (tb_ing_...): send over HTTP; without one, write to the database",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Events per request")] = 1000,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Attempts per batch (429, 5xx, timeouts) before giving up")
    ] = 10,
) -> None:
    """Ingest live events (the last 35 days): over HTTP to a running server with an
    ingest key, retrying until acknowledged, or without one straight into the database."""
    settings = load_settings(ctx)
    if key:
        ingest_file(file, url or settings.base_url, key, batch_size, max_attempts)
        return
    if url:
        typer.echo("--url needs an ingest key: --key or TALLYBOARD_INGEST_KEY.", err=True)
        sys.exit(2)
    components = _migrated(settings)
    try:
        direct_file(components.ingest, file, batch_size, backfill=False)
    finally:
        components.close()


@app.command()
def backfill(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="NDJSON file: one event per line")],
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Events per transaction")
    ] = 1000,
) -> None:
    """Import events of any time inside the retention horizon, directly into the database."""
    settings = load_settings(ctx)
    components = _migrated(settings)
    try:
        direct_file(components.ingest, file, batch_size, backfill=True)
    finally:
        components.close()


register_corrections(app, _migrated)


def main() -> None:
    """The ``tallyboard`` command: a database that cannot be used is reported in plain
    words (what failed, how to fix it) with exit status 1, never as a traceback."""
    try:
        app()
    except ServiceUnavailableError as exc:
        typer.echo(database_problem(exc), err=True)
        sys.exit(1)
