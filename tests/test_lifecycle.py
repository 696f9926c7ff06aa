"""Process lifecycle helpers (pipeline.lifecycle) that the other suites do not cover:
a short command's quiet start-up."""
from __future__ import annotations

import gc

import pytest

from pipeline.lifecycle import quiet_start


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
