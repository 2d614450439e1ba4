"""OneID: ids tied by `links` sources become one person before any tag is computed."""

import pandas as pd

from portrait.apps.profiles import get_profile
from portrait.identity.resolve import resolve_identity
from portrait.pipeline import build

CONFIG = """
name: oneid
timezone: UTC
sources:
  - name: web
    table: events
    path: web.csv
    columns: {ts: TIMESTAMP}
    fields: {user_id: device, event_time: ts, event_type: "'view'"}
  - name: app
    table: events
    path: app.csv
    columns: {ts: TIMESTAMP}
    fields: {user_id: account, event_time: ts, event_type: "'purchase'"}
  - name: logins
    table: links
    path: logins.csv
    fields: {user_id: account, alias_id: device}
"""
TAGS = """
- id: events_n
  name: {en: Events}
  taxonomy: [behaviour]
  kind: statistic
  type: integer
  owner: test
  sql: SELECT user_id, count(*) AS n FROM events GROUP BY user_id
"""


def test_linked_ids_become_one_person(tmp_path):
    (tmp_path / "tags").mkdir()
    (tmp_path / "portrait.yaml").write_text(CONFIG)
    (tmp_path / "tags" / "t.yaml").write_text(TAGS)
    web = pd.DataFrame({"device": ["d1", "d1", "d2", "d3", "d4", "d9"], "ts": ["2024-01-0%d" % i for i in range(1, 7)]})
    app = pd.DataFrame({"account": ["a1", "a1", "a2"], "ts": ["2024-02-01", "2024-02-02", "2024-02-03"]})
    # a1 ↔ d1 ↔ (via a1) d2; d3 ↔ d4 have no account; d9 and a2 are not linked.
    logins = pd.DataFrame({"account": ["a1", "a1", "d3", "a1"], "device": ["d1", "d2", "d4", "d1"]})
    web.to_csv(tmp_path / "web.csv", index=False)
    app.to_csv(tmp_path / "app.csv", index=False)
    logins.to_csv(tmp_path / "logins.csv", index=False)

    result = build(tmp_path)
    profiles = pd.read_parquet(result.snapshot.file("profiles")).set_index("user_id")["events_n"].to_dict()
    assert profiles == {"a1": 2 + 3, "a2": 1, "d3": 2, "d9": 1}
    assert result.identity.persons == 2 and result.identity.ids == 5
    assert get_profile(result.snapshot, "d2")["user_id"] == "a1"
    links = next(s for s in result.ingest.stats if s.name == "logins")
    assert links.read == links.accepted + links.quarantined == 4


def test_no_links_leaves_ids_alone(tmp_path, make_project):
    root = make_project(tmp_path / "p")
    result = build(root)
    assert result.identity.ids == 0
    assert len(pd.read_parquet(result.snapshot.file("identity"))) == 0


def test_long_chain_converges(tmp_path):
    n = 40
    pd.DataFrame({"user_id": [f"u{i:03d}" for i in range(n)], "alias_id": [f"u{i + 1:03d}" for i in range(n)]}) \
        .to_parquet(tmp_path / "links.parquet")
    pd.DataFrame({"user_id": [f"u{i:03d}" for i in range(n + 1)], "event_time": pd.Timestamp("2024-01-01", tz="UTC")}) \
        .to_parquet(tmp_path / "events.parquet")
    pd.DataFrame({"user_id": ["u040"], "age": [3]}).to_parquet(tmp_path / "users.parquet")
    result = resolve_identity(tmp_path)
    assert result.persons == 1 and result.ids == n + 1
    assert set(pd.read_parquet(tmp_path / "events.parquet")["user_id"]) == {"u000"}
    assert pd.read_parquet(tmp_path / "users.parquet").to_dict("records") == [{"user_id": "u000", "age": 3}]
