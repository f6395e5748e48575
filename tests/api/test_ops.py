"""Health, readiness and metrics endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tallyboard.app import create_app
from tallyboard.domain.errors import NotMigratedError
from tallyboard.settings import Settings
from tests.support.harness import Harness


def test_liveness_readiness_and_metrics(harness: Harness) -> None:
    assert harness.http.get("/healthz").json() == {"status": "ok"}
    assert harness.http.get("/readyz").json() == {"status": "ready"}
    harness.http.post("/graphql", json={"query": "{ __typename }"})
    metrics = harness.http.get("/metrics")
    assert metrics.status_code == 200
    assert 'tallyboard_http_requests_total{route="/graphql",status="401"} 1.0' in metrics.text


def test_the_server_refuses_to_start_on_an_unmigrated_database(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    with pytest.raises(NotMigratedError, match="tallyboard migrate"), TestClient(app):
        pass
