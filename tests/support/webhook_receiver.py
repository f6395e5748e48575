"""A real local HTTP receiver for webhook tests, verifying every signature with an
implementation independent of the server's (plain ``hmac``), and with the Standard
Webhooks reference library as a second opinion."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


def independent_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    valid: bool


@dataclass
class Receiver:
    secret: str = ""
    answers: list[int] = field(default_factory=list)
    """Status codes to answer, in order; 200 once they run out."""
    delay: float = 0.0
    holds: list[float] = field(default_factory=list)
    """Seconds to hold each request before answering, in order (then ``delay``)."""
    arrived: threading.Event = field(default_factory=threading.Event)
    """Set when a request arrives (before it is held and answered)."""
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        if not self.secret:
            return False
        expected = independent_signature(
            self.secret, headers["webhook-id"], headers["webhook-timestamp"], body
        )
        ours = hmac.compare_digest(expected, headers["webhook-signature"])
        try:
            Webhook(self.secret).verify(body, headers)
            library = True
        except Exception:
            library = False
        return ours and library


@contextmanager
def running_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with lock:
                hold = receiver.holds.pop(0) if receiver.holds else receiver.delay
            receiver.arrived.set()
            if hold:
                time.sleep(hold)
            with lock:
                receiver.received.append(Received(headers, body, receiver.verify(headers, body)))
                status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tallyboard"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
