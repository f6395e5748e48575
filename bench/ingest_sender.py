"""The ingest load generator: a separate process that posts pre-encoded batches.

Runs apart from the benchmark driver so that the driver's CPU (building events, JSON,
bookkeeping) is never counted as the server's, and so that sending costs as little
CPU as possible on a small machine: every request is a pre-built byte string written
to a raw keep-alive socket (HTTP/1.1), and each response is read by its
``Content-Length`` and decoded only for the three counts it reports.

    python -m bench.ingest_sender --port 8000 --key tb_ing_... --bodies batches.bin

``--bodies`` is a file of length-prefixed request bodies (see :func:`write_bodies`).
The sender connects, prints ``ready`` and waits for one line on stdin, then sends every
body once over ``--connections`` connections (retrying a ``429`` after its
``Retry-After``) and prints one JSON line: the summed accepted / duplicates / rejected
counts, the number of 429 retries, the monotonic start and end of the sending and the
sender's own CPU time.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

_LENGTH = struct.Struct(">I")


def write_bodies(path: Path, bodies: Iterable[bytes]) -> None:
    """Store request bodies for the sender: each one prefixed by its 4-byte length."""
    with path.open("wb") as out:
        for body in bodies:
            out.write(_LENGTH.pack(len(body)))
            out.write(body)


def read_bodies(path: Path) -> list[bytes]:
    data = path.read_bytes()
    bodies: list[bytes] = []
    offset = 0
    while offset < len(data):
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        bodies.append(data[offset : offset + length])
        offset += length
    return bodies


class _Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def exchange(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        self._sock.sendall(request)
        while b"\r\n\r\n" not in self._buffer:
            self._receive()
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        while len(rest) < length:
            rest += self._more()
        self._buffer = rest[length:]
        return status, headers, rest[:length]

    def _receive(self) -> None:
        self._buffer += self._more()

    def _more(self) -> bytes:
        chunk = self._sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self._sock.close()


def _request(body: bytes, key: str, path: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/x-ndjson\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def send(port: int, requests: list[bytes], connections: int) -> dict[str, Any]:
    """Send every request once (429s retried); the summed outcome of every response."""
    conns = [_Connection(port) for _ in range(connections)]
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "retries_429": 0, "requests": 0}
    lock = threading.Lock()
    position = iter(range(len(requests)))
    failures: list[str] = []

    def worker(conn: _Connection) -> None:
        accepted = duplicates = rejected = retries = done = 0
        try:
            while True:
                with lock:
                    index = next(position, None)
                if index is None:
                    break
                while True:
                    status, headers, payload = conn.exchange(requests[index])
                    if status == 200:
                        result = orjson.loads(payload)
                        accepted += result["accepted"]
                        duplicates += result["duplicates"]
                        rejected += len(result["rejected"])
                        done += 1
                        break
                    if status != 429:
                        raise RuntimeError(f"HTTP {status}: {payload[:300]!r}")
                    retries += 1
                    time.sleep(float(headers.get(b"retry-after", b"1")))
        except Exception as exc:  # reported to the driver, which fails the run
            failures.append(repr(exc))
        with lock:
            totals["accepted"] += accepted
            totals["duplicates"] += duplicates
            totals["rejected"] += rejected
            totals["retries_429"] += retries
            totals["requests"] += done

    threads = [threading.Thread(target=worker, args=(conn,)) for conn in conns]
    cpu_started = time.process_time()
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = time.monotonic()
    cpu = time.process_time() - cpu_started
    for conn in conns:
        conn.close()
    return {
        **totals,
        "started": started,
        "finished": finished,
        "cpu_s": cpu,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--path", default="/v1/events")
    args = parser.parse_args()
    requests = [_request(body, args.key, args.path) for body in read_bodies(args.bodies)]
    print("ready", flush=True)
    sys.stdin.readline()
    print(orjson.dumps(send(args.port, requests, args.connections)).decode(), flush=True)


if __name__ == "__main__":
    main()
