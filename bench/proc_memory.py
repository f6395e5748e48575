"""This process's memory as Linux reports it: the status fields and a resettable
peak, for the sections that measure one build's or one verify's peak RSS."""

from __future__ import annotations

from pathlib import Path

__all__ = ["reset_peak", "status_bytes"]


def status_bytes(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (``VmRSS``, ``VmHWM``); 0 when absent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> bool:
    """Reset this process's RSS high-water mark (Linux 4.0+); False when impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
