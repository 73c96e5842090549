"""The benchmark harness samples memory with one thread per measurement, and a step's or a DAG's
peak is read from that thread's samples taken while it ran (no sampler of its own)."""

from __future__ import annotations

import sys
import threading

from benchmarks.run import Pipeline, TreeMonitor

HOLD_50_MB = "import time; block = bytearray(50_000_000); time.sleep(0.8)"
HOLD_NOTHING = "import time; time.sleep(0.8)"


def test_a_steps_peak_is_the_largest_sample_the_running_monitor_took_during_it(tmp_path):
    pipeline = Pipeline(tmp_path)
    with TreeMonitor(interval=0.05) as monitor:
        threads = threading.active_count()
        assert pipeline._run([sys.executable, "-c", HOLD_50_MB]) == 0
        assert threading.active_count() == threads  # the step started no sampler of its own
        pipeline._run([sys.executable, "-c", HOLD_NOTHING], "a set-up step")  # recorded under its label
    big, small = pipeline.step_peak_mib[f"python -c {HOLD_50_MB}"], pipeline.step_peak_mib["a set-up step"]
    assert big >= small + 40
    assert monitor.peak_mib == max(big, small)


def test_a_span_between_two_samples_has_no_peak_and_outside_a_measurement_none_is_recorded(tmp_path):
    monitor = TreeMonitor()
    monitor.samples = [(100.0, 2**20), (101.0, 3 * 2**20), (102.0, 2 * 2**20)]
    assert monitor.peak_mib_between(100.5, 102.0) == 3.0
    assert monitor.peak_mib_between(101.2, 101.8) is None
    pipeline = Pipeline(tmp_path)
    pipeline._run([sys.executable, "-c", "pass"])
    assert pipeline.step_peak_mib == {}
