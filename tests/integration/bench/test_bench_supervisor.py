"""Benchmark (`make bench`): the memory of `make run`'s supervisor, and of everything it started.

`manage.py runlocal` sets up with Django loaded, then replaces itself (same PID) with the lean
supervisor of devstack/supervise.py. Prints that process's peak RSS while it set up (sampled), its
RSS and PSS once it supervises, each child's process tree and the total.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from ..test_runlocal import make_run
from .measure import memory, memory_line, mib

pytestmark = [pytest.mark.bench, pytest.mark.timeout(600)]


def rollup(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup of this one process, in bytes (Rss, Pss, Pss_Anon, ...)."""
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {line.split(":")[0]: int(line.split()[1]) * 1024 for line in lines}


class SetupPeak(threading.Thread):
    """The highest RSS of the runlocal process (found by a marker in its environment) while it is
    still `manage.py runlocal`, sampled every 0.2 s."""

    def __init__(self, marker: str) -> None:
        super().__init__(daemon=True)
        self.marker, self.peak, self.done = marker.encode(), 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    if b"manage.py" not in (proc / "cmdline").read_bytes():
                        continue
                    if self.marker not in (proc / "environ").read_bytes().split(b"\0"):
                        continue
                    self.peak = max(self.peak, rollup(int(proc.name))["Rss"])
                except OSError:
                    continue


def test_bench_make_run_supervisor_memory(tmp_path):
    run_id = uuid.uuid4().hex
    sampler = SetupPeak(f"ECRCONTROL_BENCH_RUN={run_id}")
    sampler.start()
    with make_run(tmp_path, ECRCONTROL_BENCH_RUN=run_id) as run:
        sampler.done.set()
        pid = run.process.pid
        own = rollup(pid)
        children = {}
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
            name = argv[argv.index("-m") + 1] if "-m" in argv else Path(argv[0]).name  # python -m ...
            children[name] = int(child)
        count, rss, pss = memory(pid)
        print(
            f"\n[bench supervisor] runlocal setting up (Django, kubernetes, boto3): peak RSS "
            f"{mib(sampler.peak)} (sampled)\n"
            f"[bench supervisor] its supervisor after startup (same PID, python -S -m devstack.supervise): "
            f"RSS {mib(own['Rss'])}, PSS {mib(own['Pss'])}, anonymous {mib(own['Pss_Anon'])}\n"
            f"[bench supervisor] children: {memory_line(children)}\n"
            f"[bench supervisor] everything make run started, supervisor included: {count} processes, "
            f"RSS {mib(rss)} (PSS {mib(pss)})"
        )
