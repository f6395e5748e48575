"""``python -m bench.export_child DATABASE_URL EXPORT_ID MODE [EXPORT_DIR]``: builds one export in a
process of its own, for ``bench/export_cost.py``, and prints its costs as JSON.

``MODE`` is ``xlsx`` (the production path: ``components.export_builder.run_once()``
claims the waiting automation-jobs export and builds it, streaming the ``Jobs`` and
``Automations`` sheets through XlsxWriter, then stores the file) or ``csv`` (the same
``Jobs`` rows through ``exports.files.csv_file``, the writer the CSV usage report
uses; the automation-jobs export itself is XLSX only, spec §9).

The peak resident memory (VmHWM) is reset right before the build (``clear_refs``), so
the figure is the build's own peak, over the baseline of an idle process with the
application loaded (``baseline_rss_bytes``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.proc_memory import reset_peak, status_bytes
from tallyboard.components import build_components
from tallyboard.exports.files import csv_file
from tallyboard.exports.reports import jobs_sheets
from tallyboard.settings import Settings
from tallyboard.storage.export_claims import ExportClaims
from tallyboard.storage.export_tables import export_chunks, export_jobs


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(url: str, export_id: str, mode: str, export_dir: str | None) -> dict[str, object]:
    settings = Settings(database_url=url, export_dir=export_dir)
    components = build_components(settings)
    database = components.database
    baseline = status_bytes("VmRSS")
    cpu_before = _cpu_seconds()
    reset = reset_peak()
    started = time.perf_counter()
    if mode == "xlsx":
        if not components.export_builder.run_once():
            raise RuntimeError("no export was waiting")
        wall, peak = time.perf_counter() - started, status_bytes("VmHWM")
        jobs, chunks = export_jobs.c, export_chunks.c
        stored = select(func.sum(func.length(chunks.data))).where(chunks.export_id == export_id)
        with database.read() as conn:
            row = conn.execute(
                select(jobs.status, stored.scalar_subquery().label("size"), jobs.file_path).where(
                    jobs.id == export_id
                )
            ).one()
        if row.status != "finished":
            raise RuntimeError(f"export ended {row.status}")
        size = int(row.size) if row.size else Path(row.file_path).stat().st_size
    else:
        claim = ExportClaims(database).claim(int(time.time() * 1000), 30_000)
        if claim is None or claim.id != export_id:
            raise RuntimeError("no export was waiting")
        handle, path = tempfile.mkstemp(suffix=".csv")
        os.close(handle)
        try:
            csv_file(jobs_sheets(database, claim)[0], path)
            size = Path(path).stat().st_size
        finally:
            os.unlink(path)
        wall, peak = time.perf_counter() - started, status_bytes("VmHWM")
    return {
        "mode": mode,
        "wall_seconds": wall,
        "cpu_seconds": _cpu_seconds() - cpu_before,
        "file_bytes": size,
        "baseline_rss_bytes": baseline,
        "peak_rss_bytes": peak,
        "peak_reset": reset,
    }


if __name__ == "__main__":
    directory = sys.argv[4] if len(sys.argv) > 4 else None
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3], directory)))
