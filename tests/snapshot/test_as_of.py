"""`build --as-of`: tags see only events strictly before the instant."""

from datetime import datetime, timezone

import duckdb
import pandas as pd

from portrait.pipeline import build
from portrait.snapshot import SnapshotStore

CUT = datetime(2024, 2, 1, tzinfo=timezone.utc)


def test_as_of_reads_no_event_at_or_after_the_instant(tmp_path, make_project):
    root = make_project(tmp_path / "p")
    current = build(root).snapshot
    past = build(root, as_of=CUT).snapshot
    assert SnapshotStore(root / "warehouse").current_id() == current.id, "as-of snapshots do not become current"
    con = duckdb.connect()
    assert con.execute(f"SELECT max(event_time) < TIMESTAMPTZ '{CUT.isoformat()}' "
                       f"FROM read_parquet('{past.file('events')}')").fetchone()[0]
    # Poison every event at or after the cut-off: the as-of profiles must not move.
    events = pd.read_csv(root / "events.csv", parse_dates=["ts"])
    late = events["ts"] >= pd.Timestamp(CUT).tz_localize(None)
    assert late.sum() > 0 and (events["ts"] == pd.Timestamp(CUT).tz_localize(None)).sum() == 0
    events.loc[late, "amount"] = 1e9
    events = pd.concat([events, events.loc[late].assign(ts=pd.Timestamp(CUT).tz_localize(None))])
    events.to_csv(root / "events.csv", index=False)
    again = build(root, as_of=CUT).snapshot
    a = pd.read_parquet(past.file("profiles"))
    b = pd.read_parquet(again.file("profiles"))
    pd.testing.assert_frame_equal(a, b)
    expected = events[events["ts"] < pd.Timestamp(CUT).tz_localize(None)].groupby("uid")["amount"].sum()
    got = a.set_index("user_id")["spend"].dropna()
    assert (abs(got.sort_index() - expected.rename(index=str).sort_index()) < 1e-6).all()
