"""Process lifecycle helpers (pipeline.lifecycle) that the other suites do not cover:
a short command's quiet start-up, a batch of the stages run without collections, and freed
memory handed back to the system."""
from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from pipeline import lifecycle
from pipeline.lifecycle import collect_after, quiet_start


def test_quiet_start_collects_nothing_inside_then_freezes_what_it_made():
    assert gc.isenabled()
    try:
        with quiet_start():
            assert not gc.isenabled()
            kept = [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()


def test_quiet_start_turns_collection_back_on_after_an_error():
    try:
        with pytest.raises(ValueError), quiet_start():
            raise ValueError("bad rule file")
        assert gc.isenabled()
    finally:
        gc.unfreeze()


class _Cycle:
    def __init__(self):
        self.me = self


def test_collect_after_collects_nothing_inside_then_the_cycles_the_block_left():
    """Garbage in a reference cycle made in the block waits for its end, then goes."""
    import weakref

    with collect_after():
        assert not gc.isenabled()
        dropped = weakref.ref(_Cycle())
        for _ in range(100_000):           # allocations that would trigger collections
            [[]]
        assert dropped() is not None
    assert gc.isenabled() and dropped() is None


def test_collect_after_restores_collection_after_an_error_and_when_nested():
    with pytest.raises(ValueError), collect_after():
        raise ValueError("bad article")
    assert gc.isenabled()
    with collect_after():
        with collect_after():   # an inner block (another batch) leaves the switch to the outer
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_batch_of_the_stages_runs_without_collections(rules, monkeypatch):
    """analyse_articles: no collection walks the batch's objects while its stages run."""
    from pipeline import analyse
    from conftest import raw_frame

    seen = []
    real = analyse.label_units
    monkeypatch.setattr(analyse, "label_units", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    analyse.analyse_articles(raw_frame({"a.txt": "Microneedling is painless."}), rules)
    assert seen == [False] and gc.isenabled()


def _resident_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm")
                    or getattr(lifecycle._libc(), "malloc_trim", None) is None,
                    reason="resident memory from /proc, and glibc's malloc_trim")
def test_release_memory_hands_the_freed_heap_back_to_the_system():
    """Blocks freed below a live one stay resident (the heap cannot shrink past it) until
    ``release_memory`` trims it: what a finish reading part after part kept."""
    import numpy as np

    blocks = [np.ones(12_000, dtype=np.int64) for _ in range(2_000)]   # 96 KB each: on the heap
    last = blocks[-1]
    del blocks
    held = _resident_mb()
    lifecycle.release_memory()
    assert held - _resident_mb() > 100   # of the 190 MB freed
    assert last.sum() == 12_000          # the live block is untouched


def test_peak_mb_is_the_process_peak_and_keeps_it():
    """The peak resident memory a process reached: 64 MB made and touched raise it by about
    that, and it stays there once they are freed (the validator process reports it at close).
    In a fresh process: this one's peak may be anything, set by earlier tests; and not the
    peak of the process it was started from, as ru_maxrss would give."""
    import subprocess
    import sys

    script = ("from pipeline.lifecycle import peak_mb\n"
              "before = peak_mb()\n"
              "block = bytearray(64 * 2**20)\n"
              "block[::4096] = b'x' * len(block[::4096])\n"
              "during = peak_mb()\n"
              "del block\n"
              "print(before, during, peak_mb())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    before, during, after = map(float, out.stdout.split())
    assert during - before >= 48 and after >= during - 1   # (counted in pages, updated lazily)
