"""``python -m bench.webhook_receiver``: a local webhook receiver for the dispatcher's
benchmark, in its own process (as a real receiver is), so the dispatcher's process
measures only itself.

An HTTP/1.1 keep-alive server on uvloop answering every request ``204`` after reading
its body; it prints its port, then serves until stdin closes, and prints how many
requests it answered.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import uvloop


async def _serve() -> None:
    answered = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                answered += 1
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the driver closes stdin
    server.close()
    print(answered, flush=True)


class Receiver:
    """The receiver's URL; after it stopped, how many requests it answered."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/hook"
        self.answered = 0


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver in its own process, stopped (and its count read) on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.webhook_receiver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        receiver = Receiver(int(process.stdout.readline()))
        yield receiver
        process.stdin.close()
        receiver.answered = int(process.stdout.readline() or 0)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


if __name__ == "__main__":
    uvloop.run(_serve())
