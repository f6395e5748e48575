"""What the edge needs of lower layers it may not import (storage, cache), as protocols.

The composition root (``tallyboard.app``) hands the endpoints the real objects; the
api layer only names the capability it uses.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

__all__ = ["ReadScope", "ReadScopes"]


class ReadScope(Protocol):
    """One request's shared read transaction (``storage.database.ReadScope``)."""

    blocked: bool
    """A ``nowait`` scope met a lock: the work must run again on a worker thread."""


class ReadScopes(Protocol):
    """Opens the one read transaction of a request (``storage.database.Database``)."""

    @property
    def can_read_without_waiting(self) -> bool:
        """Whether a ``nowait`` scope can promise never to wait (SQLite only)."""

    def read_scope(self, *, nowait: bool = False) -> AbstractContextManager[ReadScope]: ...
