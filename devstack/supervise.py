"""`make run`'s supervisor: it holds the processes `manage.py runlocal` started until Ctrl-C.

runlocal needs Django, the Kubernetes client and boto3 to set things up (migrate, the admin login,
the webhooks' registration), about 135 MiB that a process which only waits would keep for nothing.
So once it has printed its lines, runlocal replaces itself with this module (`hand_over`): an
execve of a Python without site-packages (about 10 MiB), with the same PID. The control plane, the
local ECR (its own small process, see `stack.LocalECRProcess`) and the web server stay its
children: it waits on them, and PR_SET_PDEATHSIG still kills them if it is killed (the kernel ties
that to the parent thread, which an execve keeps). It imports only the standard library. It prints
the last line, "Press Ctrl-C to stop.", once Ctrl-C is its own to handle.

On Ctrl-C or SIGTERM, or when one of the processes ends by itself (then its log's tail is printed),
it stops them all, last started first, and removes the run's temp dir. Ctrl-C and SIGTERM are
blocked across the execve (the signal mask survives it) until its handlers are in place.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn

from devstack.processes import Process, lean_python, terminate_on_sigterm

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def hand_over(processes: list[Process], temp_dir: Path) -> NoReturn:
    """Replace this process with the supervisor of `processes` (started by its main thread), which
    removes `temp_dir` when it stops them."""
    running = [[p.name, p.pid, str(p.log_path)] for p in processes]
    spec = json.dumps({"processes": running, "temp_dir": str(temp_dir)})
    argv, env = lean_python("devstack.supervise", spec)
    sys.stdout.flush()
    sys.stderr.flush()
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        os.execve(argv[0], argv, env)  # noqa: S606 - our own interpreter, no shell
    finally:  # only when the execve failed
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def supervise(processes: list[Process], temp_dir: Path) -> int:
    """Wait until Ctrl-C, SIGTERM (SystemExit) or the end of a process; then stop them all."""
    terminate_on_sigterm()
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # one pending since execve raises here
        print("Press Ctrl-C to stop.", flush=True)  # runlocal's last line: Ctrl-C is handled here now
        while all(p.running() for p in processes):
            time.sleep(0.5)
        ended = next(p for p in processes if not p.running())
        print(ended.fail(f"stopped unexpectedly (exit code {ended.popen.returncode})"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopping...", flush=True)
        return 0
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # a second Ctrl-C must not cut this short
        for process in reversed(processes):
            process.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)


def main() -> None:
    spec = json.loads(sys.argv[1])
    processes = [Process.inherited(name, pid, Path(log)) for name, pid, log in spec["processes"]]
    sys.exit(supervise(processes, Path(spec["temp_dir"])))


if __name__ == "__main__":
    main()
