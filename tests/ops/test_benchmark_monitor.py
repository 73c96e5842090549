"""The benchmark harness samples memory with one thread per measurement, and a step's or a DAG's
peak is read from that thread's samples taken while it ran (no sampler of its own)."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.run import Pipeline, TreeMonitor
from pipelines.config import PROJECT_ROOT

HOLD_50_MB = "import time; block = bytearray(50_000_000); time.sleep(0.8)"
HOLD_NOTHING = "import time; time.sleep(0.8)"


#: Run in a process of its own, whose only children are the steps: a test worker's other children
#: (left by earlier tests) would be sampled too.
MEASURE_TWO_STEPS = f"""
import json, sys, threading
from pathlib import Path
from benchmarks.run import Pipeline, TreeMonitor

pipeline = Pipeline(Path(sys.argv[1]))
with TreeMonitor(interval=0.05) as monitor:
    threads = threading.active_count()
    code = pipeline._run([sys.executable, "-c", {HOLD_50_MB!r}])
    same_threads = threading.active_count() == threads  # the step started no sampler of its own
    pipeline._run([sys.executable, "-c", {HOLD_NOTHING!r}], "a set-up step")  # recorded under its label
print(json.dumps({{"code": code, "same_threads": same_threads, "peaks": pipeline.step_peak_mib,
                  "peak": monitor.peak_mib}}))
"""


def test_a_steps_peak_is_the_largest_sample_the_running_monitor_took_during_it(tmp_path):
    done = subprocess.run([sys.executable, "-c", MEASURE_TWO_STEPS, str(tmp_path)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["code"] == 0 and found["same_threads"]
    big, small = found["peaks"][f"python -c {HOLD_50_MB}"], found["peaks"]["a set-up step"]
    assert big >= small + 40
    assert found["peak"] == max(big, small)


def test_a_span_between_two_samples_has_no_peak_and_outside_a_measurement_none_is_recorded(tmp_path):
    monitor = TreeMonitor()
    monitor.samples = [(100.0, 2**20), (101.0, 3 * 2**20), (102.0, 2 * 2**20)]
    assert monitor.peak_mib_between(100.5, 102.0) == 3.0
    assert monitor.peak_mib_between(101.2, 101.8) is None
    pipeline = Pipeline(tmp_path)
    pipeline._run([sys.executable, "-c", "pass"])
    assert pipeline.step_peak_mib == {}
