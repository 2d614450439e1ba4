"""API keys (hashed, scoped), the audit log and the forgotten-user list: `warehouse/access.sqlite`.

Why keys are stored hashed with a per-key salt: a leaked warehouse must not leak working keys.
A key reads `prt_<key id>_<secret>`; only the key id (public, shown in lists and audit rows)
and sha256(salt + secret) are stored. Verification looks the id up and compares digests in
constant time. Why one file: keys, audit and forgotten hashes are small, written rarely, and
must survive crashes (WAL, synchronous=FULL).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from portrait.errors import NotFound, PortraitError

SCOPES = ("profiles:read", "pii:read", "events:write", "segments:write", "admin")
FILE = "access.sqlite"
CACHE_SECONDS = 2.0  # a revoked key stops working within this long in a running server

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, salt TEXT NOT NULL,
    hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, key_id TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS forgotten (hash TEXT PRIMARY KEY, at TEXT NOT NULL);
"""


class Unauthorized(PortraitError):
    status = 401
    code = "unauthorized"


class Forbidden(PortraitError):
    status = 403
    code = "forbidden"


class InvalidScope(PortraitError):
    status = 400
    code = "invalid_scope"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key id and its scopes (`admin` implies every scope)."""

    key_id: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


LOCAL_ADMIN = Principal("local-cli", frozenset({"admin"}))  # the CLI acts with the warehouse owner's rights


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class AccessStore:
    """One warehouse's access database; safe to share across threads."""

    def __init__(self, warehouse: Path):
        self.warehouse = Path(warehouse)
        self.warehouse.mkdir(parents=True, exist_ok=True)
        self.path = self.warehouse / FILE
        new = not self.path.exists()
        self._lock = threading.Lock()
        self._con = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        if new:
            os.chmod(self.path, 0o600)
        self._con.execute("PRAGMA journal_mode = WAL")
        self._con.execute("PRAGMA synchronous = FULL")
        with self._lock:
            self._con.executescript(SCHEMA)
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('secret', ?)", (secrets.token_hex(32),))
        self.secret = self._rows("SELECT value FROM meta WHERE key = 'secret'")[0][0]
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run a read under the lock: one sqlite3 connection must not run two statements at once."""
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def close(self) -> None:
        self._con.close()

    # -- keys --------------------------------------------------------------------------------
    def create_key(self, name: str, scopes: Iterable[str], actor: Principal = LOCAL_ADMIN) -> dict:
        wanted = sorted(set(scopes))
        bad = [s for s in wanted if s not in SCOPES]
        if bad or not wanted:
            raise InvalidScope(f"unknown scope(s) {bad}" if bad else "a key needs at least one scope",
                               hint=f"scopes: {', '.join(SCOPES)}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        digest = hashlib.sha256((salt + secret).encode()).hexdigest()
        created = _now()
        with self._lock:
            self._con.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                              (key_id, name, " ".join(wanted), salt, digest, created))
        self.audit(actor.key_id, "keys.create", f"key:{key_id}", {"scopes": wanted})
        return {"key_id": key_id, "name": name, "scopes": wanted, "created_at": created,
                "key": f"prt_{key_id}_{secret}"}

    def list_keys(self) -> list[dict]:
        rows = self._rows("SELECT key_id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at")
        return [{"key_id": k, "name": n, "scopes": s.split(), "created_at": c, "revoked_at": r}
                for k, n, s, c, r in rows]

    def revoke_key(self, key_id: str, actor: Principal = LOCAL_ADMIN) -> dict:
        with self._lock:
            cur = self._con.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                                    (_now(), key_id))
        if cur.rowcount == 0:
            known = self._rows("SELECT 1 FROM api_keys WHERE key_id = ?", (key_id,))
            raise NotFound(f"no active key {key_id!r}" + (" (already revoked)" if known else ""),
                           hint="`portrait keys list` shows key ids")
        self._cache.clear()
        self.audit(actor.key_id, "keys.revoke", f"key:{key_id}")
        return {"key_id": key_id, "revoked": True}

    def verify(self, token: str | None) -> Principal:
        """The principal a presented key belongs to; 401 when missing, malformed, unknown or revoked."""
        if not token:
            raise Unauthorized("an API key is required",
                               hint="send `Authorization: Bearer prt_…` or `X-API-Key: prt_…`; "
                                    "create one with `portrait keys create`")
        hit = self._cache.get(token)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            principal = hit[1]
        else:
            principal = self._lookup(token)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now + CACHE_SECONDS, principal)
        if principal is None:
            raise Unauthorized("invalid or revoked API key", hint="`portrait keys list` shows active keys")
        return principal

    def _lookup(self, token: str) -> Principal | None:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "prt":
            return None
        _, key_id, secret = parts
        found = self._rows("SELECT salt, hash, scopes, revoked_at FROM api_keys WHERE key_id = ?", (key_id,))
        row = found[0] if found else None
        if row is None or row[3] is not None:
            return None
        digest = hashlib.sha256((row[0] + secret).encode()).hexdigest()
        return Principal(key_id, frozenset(row[2].split())) if hmac.compare_digest(digest, row[1]) else None

    # -- audit -------------------------------------------------------------------------------
    def audit(self, key_id: str, action: str, target: str, detail: dict | None = None) -> None:
        """Record one write. Callers pass hashes (`user_ref`), never raw user ids or PII."""
        with self._lock:
            self._con.execute("INSERT INTO audit (at, key_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                              (_now(), key_id, action, target, json.dumps(detail or {}, ensure_ascii=False)))

    def audit_log(self, limit: int = 100) -> list[dict]:
        rows = self._rows("SELECT id, at, key_id, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        return [{"id": i, "at": a, "key_id": k, "action": ac, "target": t, "detail": json.loads(d)}
                for i, a, k, ac, t, d in rows]

    # -- forgotten users ---------------------------------------------------------------------
    def user_hash(self, user_id: str) -> str:
        """sha256(secret + ':' + user_id), hex: the same expression DuckDB evaluates in `forgotten_sql`."""
        return hashlib.sha256(f"{self.secret}:{user_id}".encode()).hexdigest()

    def user_ref(self, user_id: str) -> str:
        """How audit rows name a user: a prefix of the salted hash, never the id."""
        return "user:" + self.user_hash(user_id)[:24]

    def add_forgotten(self, user_id: str) -> str:
        h = self.user_hash(user_id)
        with self._lock:
            self._con.execute("INSERT OR IGNORE INTO forgotten VALUES (?, ?)", (h, _now()))
        return h

    def forgotten_hashes(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT hash FROM forgotten")]

    def is_forgotten(self, user_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM forgotten WHERE hash = ?", (self.user_hash(user_id),)))

    def filter_forgotten(self, user_ids: Iterable[str]) -> list[str]:
        """The ids not forgotten, in order: what every export of user lists must apply."""
        hashes = set(self.forgotten_hashes())
        ids = list(user_ids)
        return ids if not hashes else [u for u in ids if self.user_hash(u) not in hashes]

    def forgotten_sql(self, column: str = "user_id") -> tuple[str, list]:
        """A DuckDB predicate (and its parameters) that is true for rows of users NOT forgotten."""
        hashes = self.forgotten_hashes()
        if not hashes:
            return "TRUE", []
        return (f"(sha256(? || ':' || CAST({column} AS VARCHAR)) NOT IN (SELECT unnest(?::VARCHAR[])) "
                f"OR {column} IS NULL)", [self.secret, hashes])

    def forgotten_sql_inline(self, column: str = "user_id") -> str:
        """`forgotten_sql` with its parameters inlined (secret and hashes are hex, so this is safe)."""
        hashes = self.forgotten_hashes()
        if not hashes:
            return "TRUE"
        if not all(c in "0123456789abcdef" for c in self.secret + "".join(hashes)):
            raise ValueError("corrupt access store: non-hex secret or hash")
        listed = ", ".join(f"'{h}'" for h in hashes)
        return f"(sha256('{self.secret}:' || CAST({column} AS VARCHAR)) NOT IN ({listed}) OR {column} IS NULL)"
