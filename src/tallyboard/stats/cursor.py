"""Opaque, tamper-proof pagination cursors.

A cursor is a small JSON payload plus an HMAC over it, keyed by a per-instance secret
kept in the database (so every process of an installation accepts every other's
cursors, and cursors survive restarts). Clients cannot forge or edit one: anything
whose MAC does not verify is "not issued by this server", which the API reports as
``INVALID_INPUT`` rather than guessing what was meant.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from tallyboard.domain.errors import Problem
from tallyboard.storage.database import Database
from tallyboard.storage.instance_secret_store import get_or_create_secret

__all__ = ["CursorCodec", "PagePosition"]

_HMAC_KEY_NAME = "cursor-hmac-v1"
_MAC_BYTES = 16
_MAX_CURSOR_CHARS = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: Callable[[], bytes]) -> None:
        """``secret`` is called once, on first use (nothing is read at construction)."""
        self._load_secret = secret
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_database(cls, database: Database) -> CursorCodec:
        def load() -> bytes:
            stored = get_or_create_secret(database, _HMAC_KEY_NAME, lambda: secrets.token_hex(32))
            return bytes.fromhex(stored)

        return cls(load)

    def _key(self) -> bytes:
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    self._secret = self._load_secret()
        return self._secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key(), b"cursor\x00" + payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, payload: list[Any]) -> str:
        data = orjson.dumps(payload)
        return f"{_b64(data)}.{_b64(self._mac(data))}"

    def decode(self, cursor: str) -> list[Any] | None:
        """The payload of a cursor this installation issued; None for anything else."""
        if not isinstance(cursor, str) or len(cursor) > _MAX_CURSOR_CHARS:
            return None
        data_text, dot, mac_text = cursor.partition(".")
        if not dot:
            return None
        try:
            data, mac = _unb64(data_text), _unb64(mac_text)
        except (binascii.Error, ValueError):
            return None
        if _b64(data) != data_text or _b64(mac) != mac_text:
            return None  # non-canonical base64 (e.g. edited padding bits): not our text
        if not hmac.compare_digest(mac, self._mac(data)):
            return None
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:  # pragma: no cover - we only sign JSON we wrote
            return None
        return payload if isinstance(payload, list) else None


_POSITION_VERSION = 1

SortValue = str | int


class PagePosition:
    """Keyset cursors: where a page ended (its last row's sort value and id), bound to
    the query that issued it, so a cursor cannot be replayed against another filter,
    order, organization or period. The one cursor format of every paged statistic."""

    def __init__(self, codec: CursorCodec) -> None:
        self._codec = codec

    @staticmethod
    def binding(parts: Sequence[str | bool | None]) -> str:
        """A short digest of what a cursor is only valid for. Resolved months are
        deliberately left out of it by callers, so a client paginating across midnight
        at a month's end is not refused."""
        return hashlib.sha256(orjson.dumps(list(parts))).hexdigest()[:16]

    def encode(self, binding: str, value: SortValue, row_id: str) -> str:
        return self._codec.encode([_POSITION_VERSION, binding, value, row_id])

    def decode(
        self,
        cursor: str,
        binding: str,
        value_type: type[int] | type[str],
        *,
        check_binding: bool = True,
    ) -> tuple[SortValue, str] | Problem:
        """(sort value, row id) of a cursor issued for ``binding``, or the problem
        reported as the ``after`` argument's."""
        payload = self._codec.decode(cursor)
        if payload is None or len(payload) != 4 or payload[0] != _POSITION_VERSION:
            return Problem("after", "is not a cursor issued by this server")
        _, bound_to, value, row_id = payload
        if check_binding and bound_to != binding:
            return Problem(
                "after",
                "belongs to a different query: organization, period, status, search and "
                "sort must stay the same while paginating",
            )
        if type(value) is not value_type or not isinstance(row_id, str):
            return Problem("after", "is not a cursor issued by this server")
        return value, row_id
