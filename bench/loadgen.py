"""HTTP/1.1 keep-alive load generator, run as its own process.

The benchmarks never generate load from inside the driver or the server: this module
is started as ``python -m bench.loadgen`` (a separate process with its own core), so
the measured server competes with nothing but the generator's socket work. It is
deliberately small -- raw asyncio streams on uvloop, one pre-encoded request sent
over and over on each of ``--connections`` keep-alive connections -- so it costs far
less per request than the server it measures (about 15 µs against 150+ µs).

Every response is checked: a non-2xx status, or a 200 whose body carries GraphQL
``"errors"``, counts as an error, so a benchmark can never report the throughput of
refusals.

    python -m bench.loadgen --url http://127.0.0.1:8000/graphql \\
        --body-file query.json --header 'Authorization: Bearer tb_...' \\
        --connections 8 --duration 5

prints one JSON object: requests, errors, elapsed, throughput, p50/p90/p99 latency (ms)
and the first error seen (if any).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LoadResult", "main", "run_load"]


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None
    warmup_requests: int = 0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            if not ordered:
                return 0.0
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000.0

        return {
            "requests": self.requests,
            "errors": self.errors,
            "elapsed": round(self.elapsed, 4),
            "throughput": round(self.requests / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(pct(0.50), 3),
            "p90_ms": round(pct(0.90), 3),
            "p99_ms": round(pct(0.99), 3),
            "first_error": self.first_error,
            "warmup_requests": self.warmup_requests,
        }


def build_request(url: str, method: str, body: bytes, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
        if not any(h.lower().startswith("content-type:") for h in headers):
            lines.append("Content-Type: application/json")
    lines.extend(headers)
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        return status, b"".join(chunks)
    return status, (await reader.readexactly(length)) if length > 0 else b""


async def _connection(
    host: str, port: int, request: bytes, stop_at: float, result: LoadResult, check_every: int
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter
    latencies = result.latencies
    n = 0
    try:
        while True:
            started = clock()
            if started >= stop_at:
                return
            writer.write(request)
            status, body = await _read_response(reader)
            latencies.append(clock() - started)
            result.requests += 1
            n += 1
            bad = not 200 <= status < 300
            if not bad and n % check_every == 0 and b'"errors"' in body:
                bad = True
            if bad:
                result.errors += 1
                if result.first_error is None:
                    result.first_error = f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}"
    finally:
        writer.close()


async def run_load(
    url: str,
    body: bytes,
    headers: list[str],
    connections: int,
    duration: float,
    *,
    method: str = "POST",
    warmup: float = 0.0,
    check_every: int = 1,
) -> LoadResult:
    """Drive ``connections`` keep-alive connections for ``duration`` seconds (after an
    unrecorded ``warmup``) and collect every request's latency."""
    host, port, request = build_request(url, method, body, headers)
    if warmup > 0:
        scratch = LoadResult()
        stop = time.perf_counter() + warmup
        await asyncio.gather(
            *(_connection(host, port, request, stop, scratch, 1) for _ in range(connections))
        )
        if scratch.errors:
            return scratch
    result = LoadResult(warmup_requests=scratch.requests if warmup > 0 else 0)
    started = time.perf_counter()
    stop_at = started + duration
    await asyncio.gather(
        *(
            _connection(host, port, request, stop_at, result, check_every)
            for _ in range(connections)
        )
    )
    result.elapsed = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="HTTP/1.1 keep-alive load generator")
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="POST")
    parser.add_argument("--body-file", help="request body (default: none)")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument(
        "--check-every",
        type=int,
        default=1,
        help="look for GraphQL errors in every Nth 2xx body (1 = every body)",
    )
    args = parser.parse_args(argv)
    body = b""
    if args.body_file:
        with open(args.body_file, "rb") as handle:
            body = handle.read()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a server dependency
        pass
    result = asyncio.run(
        run_load(
            args.url,
            body,
            args.header,
            args.connections,
            args.duration,
            method=args.method.upper(),
            warmup=args.warmup,
            check_every=max(1, args.check_every),
        )
    )
    json.dump(result.summary(), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
