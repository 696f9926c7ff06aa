"""Process lifecycle: termination signals as exceptions, and workers that die with their parent.

``terminate_as_exception`` turns SIGTERM and SIGHUP into a ``Terminated`` exception in the main
thread, so ``finally`` blocks run when a run is stopped (temporary folders and the report
kernel's connection file are removed, worker pools shut down). Only SIGKILL escapes it; what
a killed audit leaves in its out folder is removed by the next run (pipeline.io.output_set).

``freeze_survivors`` takes what a process keeps for good (a worker's pipeline, an audit's
tables so far) out of Python's later full collections, which would walk it every time.

``collect_after`` keeps a batch of the per-article stages from collecting while it runs.

``quiet_start`` keeps a short command (``check``) from collecting while it starts: its imports
and its pipeline live as long as the process. ``quiet_exit`` keeps a command that has written
everything (``check``, ``audit``) from collecting once more as the interpreter exits.

``peak_mb`` is a process's peak resident memory (the audit's, a Dask worker's, the validator
process's), for the timings and the bench.

``release_memory`` gives the memory a finished chunk freed back to the operating system (the
Dask engine's finish reads its tables a chunk at a time).

``exit_with_parent`` makes a worker process exit when the process that started it dies, even
by SIGKILL: on Linux the kernel sends it SIGKILL (prctl PR_SET_PDEATHSIG); everywhere a daemon
thread also polls the parent's pid.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import os
import signal
import sys
import threading
import time
from typing import Iterator

PARENT_POLL_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Terminated(BaseException):
    """The process received SIGTERM or SIGHUP (a BaseException, like KeyboardInterrupt, so
    ``except Exception`` does not swallow it)."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def _raise_terminated(signum, frame) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def terminate_as_exception() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise Terminated (main thread only; elsewhere the
    block runs unchanged, since Python delivers signals to the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    saved = {n: signal.signal(getattr(signal, n), _raise_terminated) for n in names}
    try:
        yield
    finally:
        for n, handler in saved.items():
            signal.signal(getattr(signal, n), handler)


def _parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    prctl = getattr(_libc(), "prctl", None)
    return prctl is not None and prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


def exit_with_parent(parent_pid: int) -> None:
    """Make this (worker) process exit as soon as ``parent_pid`` is no longer its parent.

    Called first thing in a worker: if the parent already died before the death signal was
    set, the worker was re-parented and exits at once.
    """
    _parent_death_signal()
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="exit-with-parent",
                     daemon=True).start()


def freeze_survivors() -> None:
    """Collect the garbage there is, then freeze what survives (``gc.freeze``): every later full
    collection skips it. An audit keeping the claims of many batches spent about a twentieth of
    its per-article stages in collections that walked them. Whoever freezes for a while (an
    audit in a long-lived process) calls ``gc.unfreeze()`` when done; a worker never needs to."""
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def quiet_start() -> Iterator[None]:
    """No garbage collection within the block, and what it made is frozen after it.

    For a short command's start-up (the imports of pandas and spaCy, the rule set, the
    pipeline's build): everything it makes lives as long as the process, yet Python's
    collections walked it again and again while it grew (about 0.15 s of ``check``'s cold
    start). Collection is on again after the block, also on an error."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@contextlib.contextmanager
def collect_after() -> Iterator[None]:
    """No automatic garbage collection within the block; the young objects it leaves are
    collected after it, and collection is as it was.

    For one batch of the per-article stages (and the contradictions over all claims, and each
    chunk of claims the audit formats into its tables): they make
    and drop millions of small objects (tokens' spans, rows, tuples) in few reference cycles
    (about 300 a batch of 200 articles), yet Python's collections walked every live object of
    the batch again and again: 5-10% of the stages in one process, about 2% in an audit's
    workers (their set-up is frozen). The process-wide switch is restored even on an error; a
    block entered while collection is already off (another thread's batch) leaves it to that
    block."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
            gc.collect(0)


@functools.cache
def _libc():
    """The C library, loaded once (``prctl`` and ``malloc_trim`` are read from it where it has
    them); None where it cannot be loaded."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def peak_mb() -> float:
    """Peak resident memory of this process in MB: Linux's VmHWM, its own since it started.
    (``ru_maxrss`` keeps the peak of the process it was forked from: a spawned validator or
    worker would report at least its parent's memory. Elsewhere it is the fallback, in KB.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def release_memory() -> None:
    """Hand the free memory of the allocators back to the operating system: Arrow's memory
    pool (``release_unused``) and glibc's heap (``malloc_trim``, where the C library is glibc;
    Dask's workers do the same). Freed memory otherwise stays in the process, in pieces that a
    later chunk of another shape does not reuse, so a finish reading hundreds of parts held
    more the more parts it had read. Called between chunks; it never frees a live object."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    if malloc_trim is not None:
        malloc_trim(0)


def quiet_exit() -> None:
    """Freeze everything before a command ends, so the interpreter's exit does not walk it in
    one last collection (about 0.25 s of ``check``'s cold start, 0.7 s after an audit of 1,000
    articles). Only once every file is written and closed: what stays frozen is never
    collected, so nothing may wait on a finaliser."""
    gc.freeze()
