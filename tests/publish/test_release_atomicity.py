"""A publish killed with SIGKILL half-way leaves the previous release as `latest`, shows no half
release, and the next run succeeds and clears the leftover staging folder.

The publish runs in a child process whose progress callback (test code, not the pipeline) stops
after the third trust's files are written and waits on its stdin; the test kills it there with
``kill -9``. No sleeps or timeouts decide the outcome.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from test_release_contents import ROOT, built_warehouse, no_packs, publish_env

from pipelines.config import load_settings
from pipelines.publish.release import list_releases, publish_release, verify

CHILD = """
import sys
sys.modules["pipelines.publish.pack"] = None  # the packs are another module's; not under test here
from pipelines.config import load_settings
from pipelines.publish.release import publish_release

def progress(line):
    print(line, flush=True)
    if line.startswith("[3/"):
        print("PAUSED", flush=True)
        sys.stdin.read()  # blocks until the parent kills this process

publish_release(load_settings(), progress=progress)
print("FINISHED", flush=True)
"""


def test_a_killed_publish_leaves_latest_on_the_previous_release_and_a_rerun_cleans_up(tmp_path_factory, monkeypatch):
    no_packs(monkeypatch)
    template = built_warehouse(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("atomicity")
    env = publish_env(tmp, template)
    settings = load_settings(environ=env)
    published = settings.paths.published
    first = publish_release(settings, progress=lambda line: None)["release_id"]

    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CULTURE_OUTCOMES_")} | env
    errors = (tmp / "child.stderr").open("w")
    # In a session of its own, so the kill below takes the whole publish, as killing a task's process
    # group would (its extract workers also end with it alone: tests/pipeline/test_parallel.py).
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=child_env, stdin=subprocess.PIPE,
                             start_new_session=True,
                             stdout=subprocess.PIPE, stderr=errors, text=True)
    seen = []
    for line in child.stdout:
        seen.append(line.rstrip())
        if line.strip() == "PAUSED":
            break
    else:
        child.wait()
        errors.close()
        raise AssertionError(f"the child publish ended before pausing:\n{seen}\n{(tmp / 'child.stderr').read_text()}")

    staging = list(published.glob(".staging-*"))
    assert len(staging) == 1
    half = staging[0]
    written = sorted(p.name for p in (half / "trusts").iterdir())
    # Mid-publish: the extracts are written, the BI snapshot and the manifest are not.
    assert "benchmarks_RWK.xlsx" in written and not (half / "bi").exists()
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    child.stdout.close()
    child.stdin.close()
    errors.close()

    # The previous release is still `latest`, complete and verified; the half release is not a release.
    assert os.readlink(published / "latest") == first
    verify(published / "latest")
    assert [r["release_id"] for r in list_releases(settings)] == [first]
    assert half.exists() and not (half / "manifest.json").exists()
    assert not (published / half.name.removeprefix(".staging-")).exists()
    assert "FINISHED" not in seen

    second = publish_release(settings, progress=lambda line: None)["release_id"]
    assert second != first
    assert not list(published.glob(".staging-*")) and not half.exists()
    assert os.readlink(published / "latest") == second
    verify(published / second)
    assert [r["release_id"] for r in list_releases(settings)] == [second, first]
    manifest = json.loads((published / "latest" / "manifest.json").read_text(encoding="utf-8"))
    assert {f"trusts/benchmarks_{code}.xlsx" for code in settings.network.members} <= {
        entry["path"] for entry in manifest["files"]}
    assert Path(published / "latest").resolve() == (published / second).resolve()
