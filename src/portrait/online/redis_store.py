"""Optional Redis online store (`online_store: redis://host:port/db` in portrait.yaml).

Why a hash per snapshot: HGET/HMGET give point and batch lookups, HDEL forgets one user, and
a pruned snapshot is dropped with one UNLINK; several API processes on several machines can
share it. The namespace is `portrait:<project>:<snapshot id>`, so a new snapshot never
overwrites the rows the running API still serves.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from portrait.errors import ConfigError
from portrait.online.base import OnlineStore

BATCH = 2_000


class RedisOnlineStore(OnlineStore):
    def __init__(self, location: str, namespace: str = "", *, writable: bool = False):
        super().__init__(location, namespace, writable=writable)
        try:
            import redis
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ConfigError("the Redis online store needs the `redis` package", hint="pip install redis") from e
        self.client = redis.Redis.from_url(location, socket_timeout=5, socket_connect_timeout=2)
        self.key = f"{namespace}:profiles" if namespace else "portrait:profiles"

    def put_many(self, rows: Iterable[tuple[str, bytes]]) -> int:
        n = 0
        batch: dict[str, bytes] = {}
        for user_id, body in rows:
            batch[user_id] = body
            if len(batch) >= BATCH:
                self.client.hset(self.key, mapping=batch)
                n += len(batch)
                batch = {}
        if batch:
            self.client.hset(self.key, mapping=batch)
            n += len(batch)
        return n

    def get(self, user_id: str) -> bytes | None:
        return self.client.hget(self.key, user_id)

    def get_many(self, user_ids: Sequence[str]) -> dict[str, bytes]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        return {u: v for u, v in zip(ids, self.client.hmget(self.key, ids)) if v is not None}

    def delete(self, user_id: str) -> bool:
        return bool(self.client.hdel(self.key, user_id))

    def count(self) -> int:
        return int(self.client.hlen(self.key))

    def drop(self) -> None:
        self.client.unlink(self.key)

    def close(self) -> None:
        self.client.close()
