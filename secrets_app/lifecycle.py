"""How ecrcontrol's processes end: the processes a role forks die with it.

The web role (gunicorn's master forks its workers) and the worker role (django-q2's cluster
forks its sentinel and workers) are process trees. When whatever started them is killed, even
with SIGKILL and no cleanup of ours, the tree must not outlive it: every child asks the kernel
for SIGKILL when its parent dies (PR_SET_PDEATHSIG). A starter that wants this (`make run`, the
tests) sets DIE_WITH_PARENT_ENV in the environment of the process it starts; in a cluster the
container runtime owns the tree and nothing here is switched on.

This module imports nothing of Django: gunicorn's config imports it before Django is set up.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading

_PR_SET_PDEATHSIG = 1
# Set by a starter in the environment of a process it starts: that process's forks die with it.
DIE_WITH_PARENT_ENV = "ECRCONTROL_DIE_WITH_PARENT"


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; a no-op elsewhere)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


_forking = {"main_thread": False}


def _note_forking_thread() -> None:
    _forking["main_thread"] = threading.current_thread() is threading.main_thread()


def _fork_dies_with_parent() -> None:
    # The kernel ties PDEATHSIG to the thread that forked: a fork from a short-lived thread would
    # be killed when that thread ends, so only forks of the main thread (django-q2's and
    # gunicorn's process managers fork from it) ask for it.
    if _forking["main_thread"]:
        die_with_parent()


def forks_die_with_parent() -> None:
    """In a process started with DIE_WITH_PARENT_ENV set: every fork of its main thread dies with
    it. Called once at startup (gunicorn's config, secrets_app's AppConfig.ready); a no-op
    elsewhere."""
    if os.environ.get(DIE_WITH_PARENT_ENV) and not getattr(forks_die_with_parent, "done", False):
        os.register_at_fork(before=_note_forking_thread, after_in_child=_fork_dies_with_parent)
        forks_die_with_parent.done = True
