"""Join the several ids of one person into one (OneID) before any tag is computed.

A `links` source says "alias_id belongs to the same person as user_id" (a login tying a device to an
account, a CRM match of an email to a customer number). Links are edges of a graph; each connected
component is one person. The person's id is the smallest id of the component that appears on the
`user_id` side of a link (the account side), so it is stable and readable.

The stage reads the events store written by ingest and publishes it again with person ids in
`user_id`, plus `identity.parquet` (id → person_id) so any alias can still look a profile up.
Components are found by min-label propagation in SQL: one join per round, rounds ≈ the longest
chain of links, so it scales with the engine rather than with Python.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

MAX_ROUNDS = 100


@dataclass
class IdentityResult:
    ids: int  # distinct ids that take part in links
    persons: int  # persons they resolve to
    merged_events: int  # events whose user_id was replaced by a person id
    rounds: int


def _components(con: duckdb.DuckDBPyConnection, links: str) -> int:
    con.execute(f"""CREATE TEMP TABLE __edges AS
        SELECT user_id AS a, alias_id AS b FROM read_parquet('{links}') WHERE user_id <> alias_id
        UNION SELECT alias_id, user_id FROM read_parquet('{links}') WHERE user_id <> alias_id""")
    con.execute("CREATE TEMP TABLE __label AS SELECT a AS id, least(a, min(b)) AS label FROM __edges GROUP BY a")
    for rounds in range(1, MAX_ROUNDS + 1):
        con.execute("""CREATE OR REPLACE TEMP TABLE __next AS
            SELECT l.id, least(l.label, min(n.label)) AS label
            FROM __label l JOIN __edges e ON e.a = l.id JOIN __label n ON n.id = e.b
            GROUP BY l.id, l.label""")
        changed = con.execute("SELECT count(*) FROM __next x JOIN __label l USING (id) WHERE x.label <> l.label").fetchone()[0]
        con.execute("CREATE OR REPLACE TEMP TABLE __label AS SELECT * FROM __next")
        if not changed:
            return rounds
    raise RuntimeError(f"identity graph did not converge in {MAX_ROUNDS} rounds")


def _rewrite(con: duckdb.DuckDBPyConnection, path: Path, select: str) -> None:
    tmp = path.with_name(f".{path.name}.identity.tmp")
    con.execute(f"COPY ({select}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
    os.replace(tmp, path)


def resolve_identity(folder: Path) -> IdentityResult:
    """Rewrite `events`/`users` in a build folder to person ids; write `identity.parquet`."""
    folder = Path(folder)
    links = folder / "links.parquet"
    con = duckdb.connect()
    try:
        if not links.exists() or con.execute(f"SELECT count(*) FROM read_parquet('{links}')").fetchone()[0] == 0:
            con.execute(f"COPY (SELECT NULL::VARCHAR AS id, NULL::VARCHAR AS person_id LIMIT 0) "
                        f"TO '{folder / 'identity.parquet'}' (FORMAT parquet)")
            return IdentityResult(0, 0, 0, 0)
        rounds = _components(con, str(links))
        con.execute(f"""CREATE TEMP TABLE __identity AS
            WITH accounts AS (SELECT DISTINCT user_id FROM read_parquet('{links}'))
            SELECT l.id, coalesce(min(a.user_id) OVER c, min(l.id) OVER c) AS person_id
            FROM __label l LEFT JOIN accounts a ON a.user_id = l.id
            WINDOW c AS (PARTITION BY l.label)""")
        _rewrite(con, folder / "identity.parquet", "SELECT id, person_id FROM __identity ORDER BY id")
        events = folder / "events.parquet"
        merged = con.execute(f"SELECT count(*) FROM read_parquet('{events}') e JOIN __identity m ON e.user_id = m.id "
                             "WHERE m.person_id <> e.user_id").fetchone()[0]
        _rewrite(con, events, f"""SELECT e.* REPLACE (coalesce(m.person_id, e.user_id) AS user_id)
            FROM read_parquet('{events}') e LEFT JOIN __identity m ON e.user_id = m.id ORDER BY e.event_time""")
        users = folder / "users.parquet"
        # One attribute row per person: the person's own row first, else the smallest alias's.
        _rewrite(con, users, f"""SELECT u.* REPLACE (coalesce(m.person_id, u.user_id) AS user_id)
            FROM read_parquet('{users}') u LEFT JOIN __identity m ON u.user_id = m.id
            QUALIFY row_number() OVER (PARTITION BY coalesce(m.person_id, u.user_id)
                                       ORDER BY u.user_id <> coalesce(m.person_id, u.user_id), u.user_id) = 1
            ORDER BY user_id""")
        ids, persons = con.execute("SELECT count(*), count(DISTINCT person_id) FROM __identity").fetchone()
        return IdentityResult(ids, persons, merged, rounds)
    finally:
        con.close()
