"""llama.cpp's default thread count is one per core the process may run on: pinned with taskset (or a
container's CPU set) to fewer cores than the machine has, it must not start a thread per machine core."""

import os

import pytest

from ragtune.generation.llamacpp import usable_cores


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="CPU affinity is Linux's")
def test_a_process_pinned_to_one_core_gets_one_thread():
    allowed = os.sched_getaffinity(0)
    assert usable_cores() == len(allowed)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert usable_cores() == 1
    finally:
        os.sched_setaffinity(0, allowed)
    assert usable_cores() == len(allowed)
