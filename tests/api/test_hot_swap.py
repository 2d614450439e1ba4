"""A build while clients read: no request fails, and answers switch to the new snapshot."""

from __future__ import annotations

import threading
import time

import httpx

from portrait.pipeline import build
from portrait.snapshot import SnapshotStore


def test_build_while_serving(tiny, keys_for, server_factory):
    keys = keys_for(tiny / "warehouse")
    server = server_factory(tiny)
    old = SnapshotStore(tiny / "warehouse").current_id()
    seen: list[tuple[float, int, str | None]] = []
    stop = threading.Event()

    def loop() -> None:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": keys.reader}, timeout=10) as c:
            i = 0
            while not stop.is_set():
                uid = f"u{i % 200}"
                i += 1
                try:
                    r = c.get(f"/v1/profiles/{uid}")
                    sid = r.json()["data"]["snapshot_id"] if r.status_code == 200 else None
                    seen.append((time.monotonic(), r.status_code, sid))
                except httpx.HTTPError as e:  # a refused or dropped connection is a failure too
                    seen.append((time.monotonic(), -1, repr(e)))

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    new = build(tiny).snapshot.id
    built_at = time.monotonic()
    deadline = built_at + 5
    while time.monotonic() < deadline and not any(s == new for _, _, s in seen[-20:]):
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()

    assert new != old
    failures = [s for s in seen if s[1] != 200]
    assert not failures, failures[:5]
    ids = [s for _, _, s in seen]
    assert ids[0] == old and ids[-1] == new
    first_new = next(t for t, _, s in seen if s == new)
    assert first_new - built_at < 1.0
    # After the switch no answer comes from the old snapshot again (per client order, allow in-flight).
    assert all(s == new for t, _, s in seen if t > first_new + 0.2)
    assert len(seen) > 50
    metrics = httpx.get(server.url + "/metrics").text
    assert f'portrait_snapshot_info{{snapshot_id="{new}"}} 1' in metrics
    assert "portrait_snapshot_swaps_total 1" in metrics
