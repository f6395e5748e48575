"""The example API metered into the Tallyboard at ``TALLYBOARD_URL`` with the ingest key
``TALLYBOARD_INGEST_KEY`` (``make demo`` prints one). Run::

    TALLYBOARD_URL=http://127.0.0.1:8000 TALLYBOARD_INGEST_KEY=tb_ing_... \\
        uvicorn app:app --port 8080
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from api import create_app
from tallyboard_client import UsageMeter


def meter_from_environment() -> UsageMeter:
    try:
        key = os.environ["TALLYBOARD_INGEST_KEY"]
    except KeyError:
        raise SystemExit("Set TALLYBOARD_INGEST_KEY (`make demo` prints the demo's).") from None
    return UsageMeter(
        os.environ.get("TALLYBOARD_URL", "http://127.0.0.1:8000"),
        key,
        source=os.environ.get("TALLYBOARD_SOURCE", f"cards-api-{socket.gethostname()}"[:128]),
    )


meter = meter_from_environment()


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    yield
    await meter.aclose()  # deliver what is left before the process exits


app = create_app(meter, lifespan)
