"""The meters of a process across its life: those never closed deliver what they hold at
interpreter exit, and in a forked child every meter starts afresh (the parent delivers
what it had counted). Kept apart from the meter, whose module is its request path."""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tallyboard_client.meter import UsageMeter

__all__ = ["closed", "opened"]

_open_meters: set[UsageMeter] = set()
_registry_lock = threading.Lock()


def opened(meter: UsageMeter) -> None:
    with _registry_lock:
        _open_meters.add(meter)


def closed(meter: UsageMeter) -> None:
    with _registry_lock:
        _open_meters.discard(meter)


def _close_open_meters() -> None:
    """Interpreter exit: deliver what meters that were never closed still hold."""
    with _registry_lock:
        meters = list(_open_meters)
    for meter in meters:
        meter.close()


def _reset_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for meter in list(_open_meters):
        meter._after_fork()


atexit.register(_close_open_meters)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)
