"""A seeded synthetic e-commerce world, so anyone can try Portrait at scale.

`generate(out, events=10_000_000)` writes Parquet event files (one per time partition, several
row groups each) plus an item catalogue; `write_project(...)` turns them into a ready-to-build
Portrait project. The same seed and parameters give byte-for-byte the same data on any machine.

What makes it realistic (and so a fair benchmark):
- users: activity weights are lognormal (σ = 1.6) and each user is active in a window of the
  year (sign-up, then churn after an exponential lifetime; a share stays to the end), so a few
  users hold a large share of the events and recency/activity tags spread out;
- items: popularity is Zipf–Mandelbrot (1 / (rank + 20)^1.05) over a random ranking; categories (a two-level path
  ``Department/cNNN``) get a Zipf share of the items; prices are lognormal per category, ending
  in .99; each user prefers two categories;
- behaviour comes in sessions (geometric, mean ≈ 4.5 events, ~40 s apart) on one channel; a
  session opens with a view; carts and purchases often act on the item just viewed; purchases of
  a session form one order; event types ≈ 88% view, 7% cart, 4% purchase, 0.4% return (≈ 10% of purchases);
- time: a year in the project time zone with a diurnal curve (night trough, evening peak), more
  traffic at weekends, slow growth and an 11.11 / December peak.

Memory stays bounded: only per-user and per-item arrays are global (a few bytes each); events
are produced and written `chunk_events` at a time.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

EVENT_TYPES = ("view", "cart", "purchase", "return")
# Per-event probabilities before a session's first event is turned into a view.
TYPE_P = (0.859, 0.085, 0.052, 0.004)
CHANNELS = ("app", "web", "mini_program")
CHANNEL_P = (0.6, 0.3, 0.1)
DEPARTMENTS = (
    "Apparel", "Beauty", "Books", "Electronics", "Home", "Grocery", "Sports", "Toys", "Shoes", "Jewelry",
    "Baby", "Pets", "Garden", "Automotive", "Health", "Office", "Music", "Games", "Kitchen", "Outdoors",
)
# Relative traffic per local hour 0..23 and per ISO weekday Monday..Sunday.
HOURLY = (2.0, 1.2, 0.7, 0.5, 0.4, 0.5, 1.0, 2.0, 3.0, 3.8, 4.3, 4.5,
          4.6, 4.3, 4.2, 4.2, 4.3, 4.4, 4.6, 5.3, 6.0, 6.3, 5.2, 3.5)
WEEKLY = (1.0, 0.98, 0.97, 0.98, 1.03, 1.15, 1.18)
SCHEMA = pa.schema([
    ("event_time", pa.timestamp("us", tz="UTC")),
    ("user_id", pa.string()),
    ("event_type", pa.string()),
    ("item_id", pa.string()),
    ("category", pa.string()),
    ("order_id", pa.string()),
    ("quantity", pa.float64()),
    ("amount", pa.float64()),
    ("channel", pa.string()),
])
US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class SyntheticSpec:
    """Everything that determines the data; equal specs give equal files."""

    events: int
    seed: int = 42
    users: int | None = None  # default events // 30
    items: int | None = None  # default events // 100, clamped to 1,000..1,000,000
    categories: int = 300
    start: str = "2025-01-01"  # first local day
    days: int = 365
    timezone: str = "Asia/Shanghai"
    files: int | None = None  # time partitions; default max(4, events / 2.5M)
    chunk_events: int = 1_000_000  # events generated (and written as one row group) at a time
    user_sigma: float = 1.6  # lognormal σ of user activity weights
    item_zipf: float = 1.05  # Zipf–Mandelbrot item popularity 1 / (rank + q)^s: a flat head, a Zipf tail
    item_zipf_q: float = 20.0
    category_zipf: float = 1.0
    session_mean: float = 4.5

    def __post_init__(self):
        if self.events < 1:
            raise ValueError("events must be ≥ 1")

    @property
    def n_users(self) -> int:
        return self.users or max(100, self.events // 30)

    @property
    def n_items(self) -> int:
        return self.items or min(1_000_000, max(1_000, self.events // 100))

    @property
    def n_files(self) -> int:
        return min(self.days, self.files or max(4, math.ceil(self.events / 2_500_000)))


@dataclass
class GeneratedData:
    """What `generate` wrote: the events folder, the items file and the time span."""

    root: Path
    spec: SyntheticSpec
    files: list[str] = field(default_factory=list)
    rows_per_file: list[int] = field(default_factory=list)
    min_event_time: datetime | None = None
    max_event_time: datetime | None = None

    @property
    def events_glob(self) -> str:
        return str(self.root / "events" / "*.parquet")

    @property
    def items_path(self) -> str:
        return str(self.root / "items.parquet")

    def data_clock(self) -> datetime:
        """Midnight after the last event in the project time zone (what `clock: data` uses)."""
        assert self.max_event_time is not None
        local = self.max_event_time.astimezone(ZoneInfo(self.spec.timezone))
        return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)

    def to_json(self) -> dict:
        return {
            "spec": asdict(self.spec), "files": self.files, "rows_per_file": self.rows_per_file,
            "min_event_time": self.min_event_time.isoformat() if self.min_event_time else None,
            "max_event_time": self.max_event_time.isoformat() if self.max_event_time else None,
        }

    @classmethod
    def load(cls, root: str | Path) -> "GeneratedData":
        root = Path(root)
        raw = json.loads((root / "synthetic.json").read_text())
        out = cls(root, SyntheticSpec(**raw["spec"]), raw["files"], raw["rows_per_file"])
        out.min_event_time = datetime.fromisoformat(raw["min_event_time"])
        out.max_event_time = datetime.fromisoformat(raw["max_event_time"])
        return out


def _zipf_weights(n: int, s: float) -> np.ndarray:
    return 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights summing exactly to total (largest remainders)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    short = total - int(out.sum())
    if short:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


class World:
    """The fixed part of the data: users, items, categories, the calendar. Built once per spec."""

    def __init__(self, spec: SyntheticSpec):
        self.spec = spec
        rng = np.random.default_rng([spec.seed, 0])
        nu, ni, nc, days = spec.n_users, spec.n_items, spec.categories, spec.days

        # Calendar: per local day, relative traffic and the UTC offset (µs) at local noon.
        first = date.fromisoformat(spec.start)
        tz = ZoneInfo(spec.timezone)
        day_dates = [first + timedelta(days=d) for d in range(days)]
        weekly = np.array([WEEKLY[d.weekday()] for d in day_dates])
        growth = 1.0 + 0.25 * np.arange(days) / max(days - 1, 1)
        peak = np.array([3.0 if (d.month, d.day) == (11, 11) else 1.6 if d.month == 11 and 8 <= d.day <= 12
                         else 1.3 if d.month == 12 and d.day <= 20 else 1.0 for d in day_dates])
        self.season = weekly * growth * peak
        self.season_cum = np.concatenate([[0.0], np.cumsum(self.season)])
        self.day0_local_us = np.array(
            [int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) * 10**6 for d in day_dates],
            dtype=np.int64,
        )
        self.offset_us = np.array(
            [int(datetime(d.year, d.month, d.day, 12, tzinfo=tz).utcoffset().total_seconds()) * 10**6
             for d in day_dates], dtype=np.int64,
        )
        last = first + timedelta(days=days)
        self.end_us = int(datetime(last.year, last.month, last.day, tzinfo=tz).timestamp()) * 10**6
        hourly = np.array(HOURLY)
        self.hour_cum = np.cumsum(hourly / hourly.sum())

        # Users: lognormal activity; active from a sign-up day to a churn day (exclusive).
        self.user_w = rng.lognormal(0.0, spec.user_sigma, nu)
        existing = rng.random(nu) < 0.4
        signup = np.where(existing, 0, rng.integers(0, days, nu))
        life = np.ceil(rng.exponential(days * 0.5, nu)).astype(np.int64) + 1
        stays = rng.random(nu) < 0.35
        self.user_a = signup.astype(np.int64)
        self.user_b = np.where(stays, days, np.minimum(days, signup + life)).astype(np.int64)
        self.user_channel = rng.choice(len(CHANNELS), nu, p=CHANNEL_P).astype(np.int8)
        self.user_ids = pa.array([f"u{i:07d}" for i in range(nu)], pa.string())

        # Categories: Zipf share of the items, ≥ 1 item each, a lognormal median price.
        cat_share = _zipf_weights(nc, spec.category_zipf)[rng.permutation(nc)]
        per_cat = 1 + _split(max(ni - nc, 0), cat_share)
        ni = int(per_cat.sum())
        self.n_items = ni
        dept = rng.integers(0, len(DEPARTMENTS), nc)
        self.category_names = pa.array([f"{DEPARTMENTS[dept[c]]}/c{c:03d}" for c in range(nc)], pa.string())
        cat_median = np.exp(rng.normal(math.log(40.0), 1.0, nc))

        # Items laid out category by category; popularity Zipf over a random global ranking.
        self.item_cat = np.repeat(np.arange(nc), per_cat)
        rank = rng.permutation(ni) + 1
        pop = 1.0 / (rank.astype(np.float64) + spec.item_zipf_q) ** spec.item_zipf
        self.item_cum = np.cumsum(pop)
        ends = np.cumsum(per_cat)
        self.cat_hi = self.item_cum[ends - 1]
        self.cat_lo = np.concatenate([[0.0], self.cat_hi[:-1]])
        self.cat_cum = self.cat_hi  # global category sampling = item sampling, then its category
        price = cat_median[self.item_cat] * np.exp(rng.normal(0.0, 0.5, ni))
        self.item_price = np.where(price > 5, np.round(price) - 0.01, np.round(np.maximum(price, 0.5), 2))
        # Item ids are shuffled so that id order says nothing about category or popularity.
        self.item_number = rng.permutation(ni)
        self.item_ids = pa.array([f"i{int(i):07d}" for i in self.item_number], pa.string())
        self.item_brand = np.minimum(
            (rng.pareto(1.2, ni) * 3).astype(np.int64), 4_999)  # a few big brands, a long tail

        # Each user prefers two categories, drawn by category popularity.
        self.user_fav = np.searchsorted(self.cat_cum, rng.random((nu, 2)) * self.cat_cum[-1], side="right")
        self.user_fav = np.minimum(self.user_fav, nc - 1).astype(np.int32)

    # -- partitions -------------------------------------------------------------------------------
    def partitions(self) -> list[tuple[int, int, int]]:
        """(first day, end day, events) of every time-partition file; events sum to spec.events."""
        nf = self.spec.n_files
        edges = np.linspace(0, self.spec.days, nf + 1).round().astype(np.int64)
        mass = np.array([self._user_mass(edges[i], edges[i + 1]).sum() for i in range(nf)])
        counts = _split(self.spec.events, mass)
        return [(int(edges[i]), int(edges[i + 1]), int(counts[i])) for i in range(nf)]

    def _user_mass(self, d0: int, d1: int) -> np.ndarray:
        """Expected sessions of each user within days [d0, d1): weight × seasonal days active."""
        lo = np.clip(self.user_a, d0, d1)
        hi = np.clip(self.user_b, d0, d1)
        return self.user_w * np.maximum(0.0, self.season_cum[hi] - self.season_cum[lo])

    # -- events -----------------------------------------------------------------------------------
    def chunk(self, part: int, index: int, d0: int, d1: int, n: int, user_cum: np.ndarray) -> pa.Table:
        """`n` events of partition `part` (days d0..d1), chunk `index`: deterministic for these args."""
        spec = self.spec
        rng = np.random.default_rng([spec.seed, 1, part, index])
        # Sessions and their lengths; the last one is cut so the chunk has exactly n events.
        lengths = np.empty(0, np.int64)
        while lengths.sum() < n:
            more = rng.geometric(1.0 / spec.session_mean, int(n / spec.session_mean * 1.1) + 16)
            lengths = np.concatenate([lengths, more])
        ends = np.cumsum(lengths)
        n_sess = int(np.searchsorted(ends, n) + 1)
        lengths = lengths[:n_sess]
        lengths[-1] -= int(ends[n_sess - 1] - n)
        sess = np.repeat(np.arange(n_sess), lengths)
        first_of = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        pos = np.arange(n) - first_of[sess]

        # Session user, day (seasonal, inside the user's active days), local start time.
        user = np.searchsorted(user_cum, rng.random(n_sess) * user_cum[-1], side="right")
        user = np.minimum(user, spec.n_users - 1)
        lo = np.maximum(self.user_a[user], d0)
        hi = np.minimum(self.user_b[user], d1)
        hi = np.maximum(hi, lo + 1)  # (a user of zero mass is never drawn; guard anyway)
        day = np.empty(n_sess, np.int64)
        todo = np.arange(n_sess)
        smax = self.season.max()
        while todo.size:
            cand = lo[todo] + (rng.random(todo.size) * (hi[todo] - lo[todo])).astype(np.int64)
            ok = rng.random(todo.size) * smax < self.season[cand]
            day[todo[ok]] = cand[ok]
            todo = todo[~ok]
        hour = np.searchsorted(self.hour_cum, rng.random(n_sess), side="right").clip(0, 23)
        start = (self.day0_local_us[day] - self.offset_us[day] + hour * 3_600_000_000
                 + (rng.random(n_sess) * 3_600_000_000).astype(np.int64))
        gaps = (rng.exponential(40.0, n) * 1e6).astype(np.int64)
        gaps[first_of] = 0
        csum = np.cumsum(gaps)
        t = start[sess] + csum - csum[first_of][sess]
        t = np.minimum(t, self.end_us - 1)  # a session running past the last local midnight stops there

        # Session category: a favourite (75%) or any, by popularity; items mostly from it.
        fav = rng.random(n_sess) < 0.75
        which = (rng.random(n_sess) < 0.35).astype(np.int64)
        any_cat = self.item_cat[np.minimum(
            np.searchsorted(self.item_cum, rng.random(n_sess) * self.item_cum[-1], side="right"), self.n_items - 1)]
        cat = np.where(fav, self.user_fav[user, which], any_cat)
        in_cat = rng.random(n) < 0.85
        c = cat[sess]
        u = np.where(in_cat, self.cat_lo[c] + rng.random(n) * (self.cat_hi[c] - self.cat_lo[c]),
                     rng.random(n) * self.item_cum[-1])
        item = np.minimum(np.searchsorted(self.item_cum, u, side="right"), self.n_items - 1)

        # Types: a session opens with a view; carts/purchases often act on the item just viewed.
        etype = np.searchsorted(np.cumsum(TYPE_P), rng.random(n), side="right").clip(0, 3).astype(np.int8)
        etype[first_of] = np.where(etype[first_of] == 3, 3, 0)
        follow = (pos > 0) & ((etype == 1) | (etype == 2)) & (rng.random(n) < 0.7)
        idx = np.flatnonzero(follow)
        item[idx] = item[idx - 1]

        qty = np.where(etype == 0, np.nan, rng.geometric(0.75, n).astype(np.float64))
        discount = np.where(rng.random(n) < 0.2, 1.0 - 0.1 * rng.integers(1, 4, n), 1.0)
        value = np.round(self.item_price[item] * np.nan_to_num(qty) * discount, 2)
        amount = np.where(etype == 2, value, np.where(etype == 3, -value, np.nan))
        qty = np.where(etype == 3, -qty, qty)
        channel = np.where(rng.random(n_sess) < 0.8, self.user_channel[user],
                           rng.choice(len(CHANNELS), n_sess, p=CHANNEL_P)).astype(np.int8)

        order = np.argsort(t, kind="stable")
        t, sess, item, etype, qty, amount = t[order], sess[order], item[order], etype[order], qty[order], amount[order]
        order_no = (np.int64(part) * 1000 + index) * 10_000_000 + sess
        is_buy = etype == 2
        order_ids = pc.if_else(pa.array(is_buy), pc.binary_join_element_wise(
            "o", pc.cast(pa.array(order_no), pa.string()), ""), pa.scalar(None, pa.string()))
        return pa.Table.from_arrays([
            pa.array(t, pa.timestamp("us", tz="UTC")),
            self.user_ids.take(pa.array(user[sess])),
            pa.array(np.array(EVENT_TYPES, dtype=object)[etype], pa.string()),
            self.item_ids.take(pa.array(item)),
            self.category_names.take(pa.array(self.item_cat[item])),
            order_ids,
            pa.array(qty, pa.float64(), from_pandas=True),
            pa.array(amount, pa.float64(), from_pandas=True),
            pa.array(np.array(CHANNELS, dtype=object)[channel[sess]], pa.string()),
        ], schema=SCHEMA)

    def iter_chunks(self) -> Iterator[tuple[int, pa.Table]]:
        """(partition, table) for every chunk of every partition, in order."""
        for part, (d0, d1, count) in enumerate(self.partitions()):
            mass = self._user_mass(d0, d1)
            user_cum = np.cumsum(mass)
            done, index = 0, 0
            while done < count:
                n = min(self.spec.chunk_events, count - done)
                yield part, self.chunk(part, index, d0, d1, n, user_cum)
                done += n
                index += 1

    def items_table(self) -> pa.Table:
        return pa.table({
            "item_id": self.item_ids,
            "category": self.category_names.take(pa.array(self.item_cat)),
            "price": pa.array(self.item_price),
            "brand": pc.binary_join_element_wise("b", pc.cast(pa.array(self.item_brand), pa.string()), ""),
        })


def iter_events(spec: SyntheticSpec) -> Iterator[pa.Table]:
    """Every event chunk of `spec`, without writing files (tests, custom sinks)."""
    for _part, table in World(spec).iter_chunks():
        yield table


def generate(out: str | Path, events: int = 1_000_000, seed: int = 42, **kwargs) -> GeneratedData:
    """Write `out/events/part-NNNNN.parquet` (time partitions), `out/items.parquet` and
    `out/synthetic.json`; returns what was written. Peak memory ≈ a few chunks, whatever `events`."""
    spec = SyntheticSpec(events=events, seed=seed, **kwargs)
    out = Path(out)
    (out / "events").mkdir(parents=True, exist_ok=True)
    for old in (out / "events").glob("*.parquet"):
        old.unlink()
    world = World(spec)
    result = GeneratedData(out, spec)
    writer, current = None, -1
    lo = hi = None
    for part, table in world.iter_chunks():
        if part != current:
            if writer is not None:
                writer.close()
            current = part
            name = f"part-{part:05d}.parquet"
            result.files.append(name)
            result.rows_per_file.append(0)
            writer = pq.ParquetWriter(out / "events" / name, SCHEMA, compression="zstd")
        writer.write_table(table, row_group_size=spec.chunk_events)
        result.rows_per_file[-1] += table.num_rows
        t = table.column("event_time")
        cmin, cmax = pc.min(t).as_py(), pc.max(t).as_py()
        lo = cmin if lo is None else min(lo, cmin)
        hi = cmax if hi is None else max(hi, cmax)
    if writer is not None:
        writer.close()
    pq.write_table(world.items_table(), out / "items.parquet", compression="zstd")
    result.min_event_time, result.max_event_time = lo, hi
    (out / "synthetic.json").write_text(json.dumps(result.to_json(), indent=1))
    return result


# -- the project around the data ------------------------------------------------------------------

PROJECT = """\
# Portrait project over synthetic e-commerce events (portrait.synthetic, seed {seed}, {events:,} events).
name: {name}
description: Synthetic shop with Zipf items, heavy-tailed users and a year of seasonal sessions.
timezone: {timezone}
clock: data
engine: {engine}
warehouse: warehouse
sources:
  - name: events
    table: events
    path: {events_glob}
    fields:
      user_id: user_id
      event_time: event_time
      event_type: event_type
      order_id: order_id
      item_id: item_id
      category: category
      quantity: quantity
      amount: amount
      channel: channel
  - name: items
    table: items
    path: {items_path}
    fields: {{item_id: item_id, category: category, price: price, brand: brand}}
"""

_SEGMENTS = ("[Champions, Loyal Customers, Potential Loyalists, New Customers, Promising, Need Attention, "
             "About To Sleep, At Risk, Cannot Lose Them, Hibernating, Lost]")
_WEEKDAYS = "[Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday]"


def _builtin_tags(builtin: str, level1: str, outputs: list[tuple[str, str, str, str]], params: str = "") -> str:
    out = []
    for tag_id, output, typ, extra in outputs:
        out.append(
            f"- id: {tag_id}\n  name: {{en: {tag_id.replace('_', ' ').capitalize()}}}\n"
            f"  taxonomy: [{level1}, {builtin}]\n  kind: statistic\n  type: {typ}\n{extra}"
            f"  owner: bench\n  builtin: {builtin}\n  output: {output}\n{params}"
        )
    return "".join(out)


BUILTIN_CATALOG = {
    "value.yaml": _builtin_tags("rfm", "用户价值", [
        ("recency_days", "recency_days", "integer", ""), ("frequency", "frequency", "integer", ""),
        ("monetary", "monetary", "number", ""), ("r_score", "r_score", "integer", ""),
        ("f_score", "f_score", "integer", ""), ("m_score", "m_score", "integer", ""),
        ("rfm_score", "rfm_score", "string", ""), ("rfm_segment", "segment", "enum", f"  values: {_SEGMENTS}\n"),
    ]),
    "behaviour.yaml": _builtin_tags("activity", "行为特征", [
        ("active_days_30d", "active_days_30d", "integer", ""), ("active_days_90d", "active_days_90d", "integer", ""),
        ("preferred_weekday", "preferred_weekday", "enum", f"  values: {_WEEKDAYS}\n"),
        ("preferred_hour", "preferred_hour", "integer", ""), ("first_active_at", "first_active_at", "timestamp", ""),
        ("last_active_at", "last_active_at", "timestamp", ""), ("events_total", "events_total", "integer", ""),
    ]),
    "interests.yaml": _builtin_tags("interest", "兴趣偏好", [
        ("interest_category", "weights", "weighted_set", ""), ("top_category", "top", "string", ""),
    ], "  params: {dimension: category, half_life_days: 30, top_n: 10}\n"),
}

SQL_CATALOG = {"consumption.yaml": """\
- id: spend_90d
  name: {en: Spend in the last 90 days, zh: 近90天消费金额}
  taxonomy: [消费特征, 消费金额, 近90天]
  kind: statistic
  type: number
  owner: bench
  sql: |
    SELECT user_id, round(sum(amount), 2) AS spend_90d FROM events
    WHERE event_type IN ('purchase', 'return') AND event_time >= as_of() - INTERVAL 90 DAY
    GROUP BY user_id
- id: carts_30d
  name: {en: Carts in the last 30 days, zh: 近30天加购次数}
  taxonomy: [行为特征, 加购, 近30天]
  kind: statistic
  type: integer
  owner: bench
  sql: |
    SELECT user_id, count(*) AS carts_30d FROM events
    WHERE event_type = 'cart' AND event_time >= as_of() - INTERVAL 30 DAY GROUP BY user_id
- id: view_to_purchase
  name: {en: Purchases per view, zh: 浏览购买转化率}
  taxonomy: [行为特征, 转化]
  kind: statistic
  type: number
  owner: bench
  sql: |
    SELECT user_id, count(*) FILTER (WHERE event_type = 'purchase')
                    / greatest(count(*) FILTER (WHERE event_type = 'view'), 1) AS view_to_purchase
    FROM events GROUP BY user_id
- id: high_value
  name: {en: High-value customer, zh: 高价值客户}
  taxonomy: [用户价值, 价值分层, 高价值]
  kind: rule
  type: bool
  owner: bench
  sql: monetary >= 1000 AND frequency >= 5
- id: churn_risk
  name: {en: Churn risk, zh: 流失风险}
  taxonomy: [生命周期, 流失风险]
  kind: rule
  type: bool
  owner: bench
  sql: frequency >= 2 AND recency_days > 60
- id: cart_abandoner
  name: {en: Cart abandoner (30 days), zh: 近30天弃购}
  taxonomy: [行为特征, 加购, 弃购]
  kind: rule
  type: bool
  owner: bench
  sql: coalesce(carts_30d, 0) >= 3 AND coalesce(recency_days, 999) > 30
"""}


def write_project(root: str | Path, data: GeneratedData, name: str | None = None, sql_tags: bool = True,
                  threads: int | None = None, memory_limit: str | None = None) -> Path:
    """A Portrait project over `data`: the rfm, activity and interest built-ins (every output) plus,
    with `sql_tags`, a few SQL statistic and rule tags. The warehouse starts empty."""
    import shutil

    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    (root / "tags").mkdir(parents=True)
    engine = {"type": "duckdb"}
    if threads:
        engine["threads"] = threads
    if memory_limit:
        engine["memory_limit"] = memory_limit
    engine_yaml = "{" + ", ".join(f"{k}: {v}" for k, v in engine.items()) + "}"
    (root / "portrait.yaml").write_text(PROJECT.format(
        seed=data.spec.seed, events=data.spec.events, name=name or f"synthetic-{data.spec.events}",
        timezone=data.spec.timezone, engine=engine_yaml,
        events_glob=json.dumps(data.events_glob), items_path=json.dumps(data.items_path),
    ), encoding="utf-8")
    catalog = dict(BUILTIN_CATALOG, **(SQL_CATALOG if sql_tags else {}))
    for file, text in catalog.items():
        (root / "tags" / file).write_text(text, encoding="utf-8")
    return root


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m portrait.synthetic", description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder for the data (events/*.parquet, items.parquet)")
    ap.add_argument("--events", type=float, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--project", help="also write a Portrait project folder here")
    args = ap.parse_args(argv)
    data = generate(args.out, int(args.events), args.seed)
    print(f"{data.spec.events:,} events in {len(data.files)} files under {data.root / 'events'}")
    if args.project:
        print(f"project: {write_project(args.project, data)}  (portrait build -p {args.project})")


if __name__ == "__main__":
    main()
