"""The log lines decision 0005 promises for a database outage, as real server processes
write them to stderr, in both formats (issue 11 item 12): the flush failure WARNING, the
recovery INFO, and the ERROR of a stop (SIGTERM) during the outage with the calls per
organization it could not confirm -- which the JSON format used to drop entirely.

The outage is real: the servers reach PostgreSQL through a proxy the test cuts.
"""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from tallyboard.domain.usage import ApiDimension
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.fleet import ServerProcess, start_server, wait_ready
from tests.support.harness import mint_admin_token
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FORMATS = ("json", "text")
WARNING = "metering flush failed; the batch is kept and retried with the same flush id"
RECOVERED = "metering flush recovered"
ERROR = "metering: billable calls could not be confirmed as flushed before shutdown"
_TEXT = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) (?P<logger>\S+): (?P<rest>.*)$")


def start(database_url: str, log_format: str) -> ServerProcess:
    return start_server(database_url, flush_interval=0.2, log_format=log_format)


def parse(line: str, log_format: str) -> dict[str, Any] | None:
    """A record as {level, logger, msg, fields...}: JSON as is, text by its key=value pairs."""
    if log_format == "json":
        try:
            record: dict[str, Any] = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None  # a traceback line of some other record
        return record
    match = _TEXT.match(line.rstrip("\n"))
    if match is None:
        return None
    rest = match["rest"]
    for message in (WARNING, RECOVERED, ERROR):
        if rest.startswith(message):
            fields = dict(_pairs(rest[len(message) :]))
            return {
                "level": match["level"].lower(),
                "logger": match["logger"],
                "msg": message,
                **fields,
            }
    return {"level": match["level"].lower(), "logger": match["logger"], "msg": rest}


def _pairs(text: str) -> Iterator[tuple[str, Any]]:
    decoder = re.compile(r' (\w+)=("(?:[^"\\]|\\.)*"|\{[^}]*\}|\[[^\]]*\]|\S+)')
    for key, value in decoder.findall(text):
        try:
            yield key, orjson.loads(value)
        except orjson.JSONDecodeError:
            yield key, value


def records(server: ServerProcess, log_format: str, msg: str) -> list[dict[str, Any]]:
    parsed = (parse(line, log_format) for line in list(server.lines))
    return [r for r in parsed if r is not None and r.get("msg") == msg]


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def proxied(postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    proxy, url = TcpProxy.for_url(postgres_url)
    yield proxy, url
    proxy.close()


def _tenants(base_url: str, admin_token: str) -> dict[str, tuple[str, str]]:
    """One organization and service-account token per log format: (org id, token)."""
    tenants = {}
    for log_format in FORMATS:
        org = str(uuid.uuid4().int % 10**9)
        secrets = httpx.post(
            f"{base_url}/v1/admin/apply",
            json={
                "organizations": [{"id": org, "name": f"Org {log_format}"}],
                "serviceAccounts": [
                    {"organization": org, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
                ],
            },
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=30,
        ).json()
        account = secrets["serviceAccounts"][0]
        token = httpx.post(
            f"{base_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": account["clientId"],
                "client_secret": account["clientSecret"],
            },
            timeout=30,
        ).json()["access_token"]
        tenants[log_format] = (org, token)
    return tenants


def _call(server: ServerProcess, token: str, org: str) -> None:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": f'query Outage {{ organization(id: "{org}") {{ id }} }}'},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text


def _metered(postgres_url: str, org: str) -> int:
    database = Database(postgres_url)
    o, m = t.organizations, t.api_calls_monthly
    with database.read() as conn:
        calls = conn.execute(
            select(m.c.calls)
            .join(o, o.c.pk == m.c.org_pk)
            .where(o.c.id == org, m.c.dimension == int(ApiDimension.TOTAL))
        ).scalar()
    database.dispose()
    return int(calls or 0)


def _outage_with_pending_calls(
    proxy: TcpProxy, servers: dict[str, ServerProcess], tenants: dict[str, Any], made: Any
) -> None:
    """Calls, then a cut; repeated in the unlikely case a flush slipped in between."""
    for _ in range(5):
        seen = {f: len(records(s, f, WARNING)) for f, s in servers.items()}
        for log_format, server in servers.items():
            _call(server, tenants[log_format][1], tenants[log_format][0])
            made[log_format] += 1
        proxy.cut()

        def failed_again(seen: dict[str, int] = seen) -> bool:
            return all(len(records(s, f, WARNING)) > seen[f] for f, s in servers.items())

        if wait_for(failed_again, "a flush failure", seconds=8):
            return
        proxy.restore()
    pytest.fail("no flush ever failed during the outage")


def test_the_promised_outage_lines_are_written_with_their_fields_in_both_formats(
    postgres_url: str, proxied: tuple[TcpProxy, str]
) -> None:
    proxy, url = proxied
    servers = {log_format: start(url, log_format) for log_format in FORMATS}
    try:
        for server in servers.values():
            wait_ready(server)
        tenants = _tenants(servers["json"].url, mint_admin_token(postgres_url))
        made = dict.fromkeys(FORMATS, 0)
        _outage_with_pending_calls(proxy, servers, tenants, made)
        proxy.restore()
        for log_format, server in servers.items():
            recoveries = partial(records, server, log_format, RECOVERED)
            assert wait_for(lambda: bool(recoveries()), "recovery"), server.log()  # noqa: B023
        _outage_with_pending_calls(proxy, servers, tenants, made)
        for server in servers.values():
            server.process.send_signal(signal.SIGTERM)  # during the outage: the stop
        for server in servers.values():  # cannot confirm the last calls
            server.wait_stopped()
    finally:
        for server in servers.values():
            if server.process.poll() is None:
                server.process.kill()
    proxy.restore()
    for log_format, server in servers.items():
        warning = records(server, log_format, WARNING)[0]
        assert warning["level"] == "warning" and warning["logger"] == "tallyboard.metering.flusher"
        assert warning["calls"] >= 1 and warning["keys"] == 1 and warning["failures"] >= 1
        assert uuid.UUID(warning["flush_id"]) and "OperationalError" in warning["error"]
        recovered = records(server, log_format, RECOVERED)[0]
        assert recovered["level"] == "info" and recovered["after_failures"] >= 1
        assert recovered["flush_id"] == warning["flush_id"]  # the same batch, retried
        # One ERROR per unconfirmed batch: the retried one and, when a call arrived while it
        # was failing, the calls never attempted. Each names its calls by organization.
        errors = records(server, log_format, ERROR)
        assert 1 <= len(errors) <= 2, server.log()
        unconfirmed = 0
        for error in errors:
            assert error["level"] == "error", server.log()
            assert error["calls"] >= 1 and error["keys"] == 1 and error["flush_id"]
            (org_pk, calls), *others = error["calls_by_org_pk"].items()
            assert not others and calls == error["calls"] and int(org_pk) > 0
            unconfirmed += calls
        assert uuid.UUID(errors[0]["flush_id"])  # the retried batch keeps its flush id
        # Nothing was lost silently: what was flushed plus what the ERRORs report is
        # every billable call made.
        assert _metered(postgres_url, tenants[log_format][0]) + unconfirmed == made[log_format]
