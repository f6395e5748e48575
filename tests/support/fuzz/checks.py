"""What every fuzzed answer must satisfy, and the recorder of a run's distinct failures.

Every answer, whatever the endpoint: a status below 500, within ``MAX_SECONDS``, a JSON
body with an ``X-Correlation-ID`` header, and nothing in the body that only the server
could have written about its insides (``LEAK_PATTERNS``: a traceback, a Python exception
name or object repr, SQL or a database driver's message, a filesystem path). A match is
not a leak when the request itself contains the matched text (the server may quote what
it was sent back, e.g. an invalid value in a validation message).

The recorder sends each request, applies those checks plus the endpoint's own, and keeps
the first example of every distinct failure (endpoint, request kind, problem category)
instead of stopping at the first: one run lists everything that is wrong, and no
shrinking (which would re-send requests for minutes) is needed to read it. A request
made of parts (an ingest batch) that fails with a 5xx has its parts re-sent one by one,
so the failure is named after the event that causes it; a kind of request that was slow
twice is not sent again, so a known expensive input cannot eat the run's time.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson

__all__ = [
    "LEAK_PATTERNS",
    "MAX_SECONDS",
    "Answer",
    "Problem",
    "Recorder",
    "Sent",
    "Suite",
    "json_strings",
    "leaks",
]

MAX_SECONDS = 2.0
"""No answer may take longer (issue 11: "any response over 2 s" fails the fuzz)."""

NO_ANSWER_SECONDS = 10.0
"""How long the client waits at all: a request still unanswered then is recorded."""

ISOLATIONS_PER_KIND = 20
"""Failed requests of one kind whose parts are re-sent one by one to name the cause."""

SLOW_KINDS_SKIPPED_AFTER = 2
"""A request kind that was slow this many times is not sent again in the run: a known
expensive input (e.g. fragment fan-out) must not eat the run's time budget."""

_SQL_WORDS = (
    r"\bSELECT\b[^\n]{0,300}?\bFROM\b",
    r"\bINSERT\s+INTO\b",
    r"\bUPDATE\s+\w+\s+SET\b",
    r"\bDELETE\s+FROM\b",
    r"\bON\s+CONFLICT\b",
    r"\bRETURNING\b",
    r"\bFROM\s+STDIN\b",
    r"\bWHERE\b[^\n]{0,100}?(?:=|\bIN\b)\s*(?:%\(|\?|:\w|\$\d)",
)
_DRIVER_MESSAGES = (
    r"\[SQL:",
    r"\[parameters:",
    r"Background on this error",
    r"sqlalche\.me",
    r"\bsqlalchemy\b",
    r"\bpsycopg2?\b",
    r"\bsqlite3\b",
    r"syntax error at or near",
    r"violates [\w ]*constraint",
    r"constraint failed",
    r"index row size",
    r"\bbtree\b",
    r"cannot contain NUL",
    r"invalid byte sequence for encoding",
    r"out of range for type",
    r"value too long for type",
    r"invalid input syntax for type",
    r"character varying",
    r"no such (?:table|column)",
    r"database is locked",
    r"database or disk is full",
    r"too large to convert to SQLite",
    r"Error binding parameter",
    r"\bpg_[a-z_]+\b",
)

LEAK_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "traceback",
        re.compile(r"Traceback \(most recent call last\)|\bFile \"[^\"\n]+\", line \d+"),
    ),
    (
        "Python exception name",
        re.compile(
            r"\b(?:[A-Z][a-z0-9]+|[A-Z]{2,}(?=[A-Z][a-z]))+(?:Error|Exception|Warning)\b"
            r"|\b(?:StopIteration|KeyboardInterrupt|SystemExit|GeneratorExit)\b"
        ),
    ),
    (
        "Python object repr",
        re.compile(r"<(?:class|module|function|built-in function|bound method) |object at 0x"),
    ),
    ("SQL or database driver text", re.compile("|".join(_SQL_WORDS + _DRIVER_MESSAGES))),
    (
        "filesystem path",
        re.compile(
            r"(?<![\w.:/-])/(?:home|usr|opt|tmp|var|etc|root|srv|work|proc|lib|lib64|mnt"
            r"|private|Users|app)/[^\s\"'<>]*"
            r"|\b[A-Za-z]:\\[^\s\"'<>]+"
            r"|\b(?:site|dist)-packages\b"
            r"|\b[\w.-]+\.py\b"
        ),
    ),
)
"""What only the server could have written about its insides; defined once, used for
every body of every endpoint (and unit-tested in tests/unit/test_fuzz_checks.py)."""


def json_strings(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from json_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from json_strings(item)


def leaks(
    body: str, echo: str | Callable[[], str] = "", literals: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(category, matched text) for every leak in ``body``.

    ``echo`` is the text of the request (or a function computing it, called only when
    something matched): a match found in it was sent by the caller, not revealed by the
    server. ``literals`` are exact strings that must never appear (this run's database
    path, the source tree, the interpreter's prefix).
    """
    sent: list[str] = []

    def echoed(text: str) -> bool:
        if not sent:
            sent.append(echo() if callable(echo) else echo)
        return text in sent[0]

    found: dict[tuple[str, str], None] = {}
    try:  # a JSON body is checked string by string, escapes resolved, each once
        text = "\n".join(dict.fromkeys(json_strings(orjson.loads(body))))
    except orjson.JSONDecodeError:
        text = body
    for category, pattern in LEAK_PATTERNS:
        for match in pattern.finditer(text):
            if not echoed(match.group(0)):
                found[(category, match.group(0))] = None
    for literal in literals:
        if literal and literal in text and not echoed(literal):
            found[("server-side literal", literal)] = None
    return list(found)


@dataclass(frozen=True)
class Sent:
    """One request of the fuzz, as it goes on the wire."""

    endpoint: str
    kind: str
    """The strategy branch that made it: failures are grouped by it."""
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"
    context: Mapping[str, Any] = field(default_factory=dict)
    """What the strategy knows about the request (expected outcome, batch size...)."""

    def echo(self) -> str:
        """Everything the request says, as text: the raw body, its headers, and every
        string of the body decoded as JSON or as NDJSON lines (escapes resolved)."""
        texts = [self.body.decode("utf-8", "replace"), *self.headers.values()]
        lines = self.body.split(b"\n") if b"\n" in self.body else []
        for part in [self.body, *lines]:
            with contextlib.suppress(orjson.JSONDecodeError):
                texts.extend(json_strings(orjson.loads(part)))
        return "\n".join(texts)

    def describe(self, limit: int = 700) -> str:
        headers = {
            k: _clip(v, 120) for k, v in self.headers.items() if k.lower() != "authorization"
        }
        auth = self.context.get("auth", "")
        body = _clip(self.body.decode("utf-8", "backslashreplace"), limit)
        return (
            f"{self.method} {self.endpoint} [{self.kind}] auth={auth} headers={headers} body={body}"
        )


@dataclass(frozen=True)
class Suite:
    """Requests of one family: known hazards first, then generated examples."""

    examples: int
    requests: Any
    """A hypothesis strategy of :class:`Sent`."""
    seeds: tuple[Sent, ...] = ()
    """Requests always sent first: the known reproductions of this family's hazards
    (issue 11), so generation never has to be lucky to cover them."""


@dataclass(frozen=True)
class Answer:
    """What came back: status, headers, body text, the decoded JSON (or None), seconds."""

    status: int
    headers: Mapping[str, str]
    text: str
    json: Any
    seconds: float


@dataclass(frozen=True)
class Problem:
    category: str
    """Stable across examples (failures are grouped by it)."""
    detail: str = ""


Check = Callable[[Sent, Answer], Iterable[Problem]]


@dataclass
class Failure:
    sent: Sent
    answer: Answer | None
    problem: Problem
    count: int = 1

    def describe(self) -> str:
        if self.answer is None:
            response = "no answer"
        else:
            response = (
                f"HTTP {self.answer.status} in {self.answer.seconds:.2f} s: "
                f"{_clip(self.answer.text, 700)}"
            )
        return (
            f"- {self.problem.category} ({self.count}x) {self.problem.detail}\n"
            f"    request:  {self.sent.describe()}\n"
            f"    response: {response}"
        )


class Recorder:
    """Sends requests, checks each answer, keeps the first example of each failure."""

    def __init__(
        self,
        client: httpx.Client,
        literals: Iterable[str] = (),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.client = client
        self.clock = clock
        self.literals = tuple(literals)
        self.failures: dict[tuple[str, str, str], Failure] = {}
        self.sent = Counter[str]()
        self.kinds = Counter[str]()
        self.slowest: tuple[float, str] = (0.0, "")
        self._slow = Counter[str]()
        self._isolated = Counter[str]()

    def skips(self, kind: str) -> bool:
        return self._slow[kind] >= SLOW_KINDS_SKIPPED_AFTER

    def exchange(self, sent: Sent, check: Check) -> Answer | None:
        """Send ``sent`` (unless its kind was already slow twice) and record problems."""
        if self.skips(sent.kind):
            return None
        self.sent[sent.endpoint] += 1
        self.kinds[sent.kind] += 1
        started = self.clock()
        try:
            response = self._send(sent)
        except httpx.TimeoutException:
            self._slow[sent.kind] += 1
            self.add(sent, None, Problem("slower than 2 s", f"no answer in {NO_ANSWER_SECONDS} s"))
            return None
        except httpx.LocalProtocolError:
            raise  # the fuzz built a request no HTTP client may send: a bug of the test
        except httpx.TransportError as exc:
            self.add(sent, None, Problem("no answer", type(exc).__name__))
            return None
        answer = _answer(response, self.clock() - started)
        self.slowest = max(self.slowest, (answer.seconds, sent.kind))
        for problem in [*self.common(sent, answer), *check(sent, answer)]:
            self.add(sent, answer, problem)
        return answer

    def _send(self, sent: Sent, timeout: float = NO_ANSWER_SECONDS) -> httpx.Response:
        """One request; resent once on a fresh connection if the kept-alive one was found
        closed (uvicorn drops the connection after an unhandled error: the 5xx before was
        the failure, not this request)."""
        for attempt in (1, 2):
            try:
                return self.client.request(
                    sent.method,
                    sent.endpoint,
                    content=sent.body,
                    headers=dict(sent.headers),
                    timeout=timeout,
                )
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def common(self, sent: Sent, answer: Answer) -> Iterator[Problem]:
        if answer.status >= 500:
            yield self._server_error(sent, answer)
        if answer.seconds > MAX_SECONDS:
            self._slow[sent.kind] += 1
            yield Problem("slower than 2 s", f"{answer.seconds:.2f} s")
        for category, text in leaks(answer.text, sent.echo, self.literals):
            yield Problem(f"leak: {category}", repr(_clip(text, 200)))
        if answer.status >= 500:
            return  # its shape is part of the server error's description
        if not answer.headers.get("x-correlation-id"):
            yield Problem("no X-Correlation-ID header")
        if answer.json is None:
            yield Problem("body is not JSON", repr(_clip(answer.text, 200)))

    def _server_error(self, sent: Sent, answer: Answer) -> Problem:
        """A 5xx, named after the parts of the request that cause it on their own."""
        shape = "JSON" if answer.json is not None else "not JSON"
        shape += ", with" if answer.headers.get("x-correlation-id") else ", without"
        detail = f"({shape} X-Correlation-ID)"
        culprits = self._isolate(sent)
        if not culprits:
            if sent.context.get("parts"):
                detail += " (no single part fails alone: they fail together)"
            return Problem(f"HTTP {answer.status}", detail)
        labels = sorted({label for label, _ in culprits})
        examples = "; ".join(
            _clip(body.decode("utf-8", "backslashreplace"), 300) for _, body in culprits[:3]
        )
        return Problem(
            f"HTTP {answer.status} caused by: {', '.join(labels)}", f"{detail} e.g. {examples}"
        )

    def _isolate(self, sent: Sent) -> list[tuple[str, bytes]]:
        """Re-send each part of a failed request alone (bounded): the ones that fail alone."""
        parts = sent.context.get("parts") or []
        self._isolated[sent.kind] += 1
        if self._isolated[sent.kind] > ISOLATIONS_PER_KIND:
            return []
        culprits = []
        for label, body in parts:
            try:
                response = self._send(replace(sent, body=body))
            except httpx.TransportError:
                continue
            if response.status_code >= 500:
                culprits.append((label, body))
        return culprits

    def add(self, sent: Sent, answer: Answer | None, problem: Problem) -> None:
        key = (sent.endpoint, sent.kind, problem.category)
        if key in self.failures:
            self.failures[key].count += 1
        else:
            self.failures[key] = Failure(sent, answer, problem)

    def report(self, title: str) -> str:
        sent = ", ".join(f"{n} to {endpoint}" for endpoint, n in sorted(self.sent.items()))
        lines = [f"{title}: {len(self.failures)} distinct failure(s) in {sent}"]
        lines.extend(f.describe() for f in self.failures.values())
        kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.kinds.items()))
        lines.append(f"requests by kind: {kinds}")
        lines.append(f"slowest answer: {self.slowest[0]:.3f} s ({self.slowest[1]})")
        return "\n".join(lines)


def _answer(response: httpx.Response, seconds: float) -> Answer:
    try:
        decoded: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        decoded = None
    text = response.content.decode("utf-8", "backslashreplace")
    return Answer(response.status_code, response.headers, text, decoded, seconds)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…(+{len(text) - limit} chars)"
