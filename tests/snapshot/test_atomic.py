"""Publication is atomic: SIGKILL mid-build leaves the previous snapshot current and readable."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from portrait.apps.profiles import get_profile
from portrait.pipeline import build
from portrait.snapshot import SnapshotStore


def test_sigkill_mid_build_keeps_previous_snapshot(tmp_path, make_project):
    root = make_project(tmp_path / "p")
    first = build(root).snapshot
    store = SnapshotStore(root / "warehouse")
    # Make the next build slow (a tag that spins), start it in a child process and kill it mid-way.
    make_project(root, spin=3_000)
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2] / 'src')!r}); " \
           f"from portrait.pipeline import build; build({str(root)!r})"
    child = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 60
    while time.time() < deadline:
        staging = list((root / "warehouse" / "snapshots").glob(".staging-*"))
        if staging and (staging[0] / "events.parquet").exists():
            break
        time.sleep(0.05)
    time.sleep(0.5)
    assert child.poll() is None, "the build finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert store.current_id() == first.id
    assert list((root / "warehouse" / "snapshots").glob(".staging-*")), "the killed build left its staging folder"
    still = store.open()
    assert still.id == first.id and get_profile(still, "1")["user_id"] == "1"
    # The next build succeeds, cleans the abandoned staging folder and becomes current.
    make_project(root, spin=1)
    second = build(root).snapshot
    assert store.current_id() == second.id != first.id
    assert second.manifest.parent == first.id
    assert not list((root / "warehouse" / "snapshots").glob(".staging-*"))


def test_failed_build_is_not_published(tmp_path, make_project):
    root = make_project(tmp_path / "p")
    first = build(root).snapshot
    (root / "tags" / "t.yaml").write_text((root / "tags" / "t.yaml").read_text().replace(
        "sum(amount) AS spend FROM events GROUP BY user_id", "amount AS spend FROM events"))
    try:
        build(root)
    except Exception as e:  # a tag returning several rows per user fails the build
        assert "several rows" in str(e)
    else:
        raise AssertionError("the build should have failed")
    store = SnapshotStore(root / "warehouse")
    assert store.current_id() == first.id and store.ids() == [first.id]
