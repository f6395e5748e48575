"""Whatever fails inside, every endpoint answers in its documented JSON shape with the
correlation id -- never plain text, a traceback, SQL or a path -- and the server logs
one line per kind of failure per interval (issue 11, item 11). Database outages are
covered against real servers in tests/e2e/test_database_outages.py; here the failures
are bugs (an exception nothing expected)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tallyboard.domain.errors import ServiceUnavailableError
from tests.support.events import org_document
from tests.support.harness import Harness

SECRET = "KeyError at /srv/tallyboard/secret.py: SELECT * FROM credentials"


def _boom(*_args: Any, **_kwargs: Any) -> Any:
    raise KeyError(SECRET)


def _clean(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    for leak in ("KeyError", "/srv", "SELECT", "Traceback"):
        assert leak not in response.text
    body: dict[str, Any] = response.json()
    return body


def _failure_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tallyboard.failures"]


def test_a_bug_behind_each_endpoint_is_a_json_500_logged_once_per_kind(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = harness.services
    monkeypatch.setattr(services.ingest, "ingest", _boom)
    monkeypatch.setattr(services.applier, "apply", _boom)
    monkeypatch.setattr(services.oauth, "issue", _boom)
    monkeypatch.setattr(services.authenticator, "principal", _boom)
    monkeypatch.setattr(services.authenticator, "ingest_key", lambda _h: _Key())
    caplog.set_level(logging.ERROR)
    admin = {"Authorization": f"Bearer {harness.admin_token}"}

    for _ in range(5):
        events = harness.http.post("/v1/events", json=[], headers={"Authorization": "Bearer k"})
        assert events.status_code == 500
        error = _clean(events)["error"]
        assert error["code"] == "INTERNAL_SERVER_ERROR"
        assert error["correlation_id"] == events.headers["x-correlation-id"]

    apply = harness.http.post("/v1/admin/apply", json={}, headers=admin)
    assert apply.status_code == 500
    assert _clean(apply)["error"]["code"] == "INTERNAL_SERVER_ERROR"

    token = harness.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
    )
    assert token.status_code == 500
    oauth = _clean(token)
    assert oauth["error"] == "server_error"
    assert oauth["correlation_id"] == token.headers["x-correlation-id"]

    graphql = harness.http.post("/graphql", json={"query": "{ __typename }"})
    assert graphql.status_code == 500
    (entry,) = _clean(graphql)["errors"]
    assert entry["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "correlation_id": graphql.headers["x-correlation-id"],
    }

    lines = _failure_lines(caplog)
    # Eight failures, one kind (KeyError), one interval: one line, with the traceback.
    assert len(lines) == 1 and lines[0].exc_info is not None
    metrics = harness.http.get("/metrics").text
    assert 'tallyboard_failures_total{kind="bug:KeyError"} 8.0' in metrics


class _Key:
    org_pk = None


def test_unknown_paths_and_wrong_methods_answer_in_json(harness: Harness) -> None:
    missing = harness.http.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert _clean(missing)["error"]["code"] == "NOT_FOUND"
    wrong = harness.http.get("/v1/events")
    assert wrong.status_code == 405
    assert _clean(wrong)["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" in wrong.headers["allow"]
    put = harness.http.put("/graphql", json={"query": "{ __typename }"})
    assert put.status_code == 405
    (entry,) = _clean(put)["errors"]
    assert entry["extensions"]["code"] == "BAD_REQUEST"
    assert entry["extensions"]["correlation_id"] == put.headers["x-correlation-id"]


def test_a_field_the_database_failed_is_a_503_with_the_partial_data_and_is_not_billed(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    document, (_org,) = org_document()
    org_id = document["organizations"][0]["id"]
    document["serviceAccounts"] = [
        {"organization": org_id, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
    ]
    token = harness.service_account_tokens(harness.apply(document))["bot"]
    query = "query Two($id: ID!) { __typename organization(id: $id) { id } }"

    def unavailable(*_args: Any, **_kwargs: Any) -> Any:
        raise ServiceUnavailableError("The database is unavailable", 5, "database:Test")

    monkeypatch.setattr(harness.services.policy, "require_by_id", unavailable)
    caplog.set_level(logging.ERROR)
    response = harness.graphql_response(token, query, {"id": org_id})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    body = _clean(response)
    assert body["data"] == {"__typename": "Query", "organization": None}
    (entry,) = body["errors"]
    assert entry["path"] == ["organization"]
    assert entry["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert [r.kind for r in _failure_lines(caplog)] == ["database:Test"]  # type: ignore[attr-defined]
    harness.flush()
    with harness.services.database.read() as conn:
        calls = conn.exec_driver_sql("SELECT count(*) FROM api_calls_daily").scalar()
    assert calls == 0  # a server-side failure is never billed
