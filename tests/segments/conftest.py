"""Fixtures for the segment tests: synthetic profiles with every tag type (NULLs, duplicates,
awkward strings, NaN/inf, DST-crossing timestamps) and real builds of both example projects.

Self-contained on purpose: the shared tests/conftest.py may define similar fixtures later.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portrait.catalog import Tag
from portrait.segments.bind import SegmentSource, SplitSpec
from portrait.segments.clock import Clock
from portrait.segments.index import open_index
from portrait.segments.index_build import build_index
from portrait.segments.table import ProfileTable

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "src" / "portrait" / "examples"

CITIES = ["London", "Paris", "O'Hare", "São Paulo", "Zürich", "berlin", "Berlin", "a_b", "50%", "", "Lyon", "Rome"]
KEYS = ["Books", "Toys", "Garden", "Music", "Kid's", "Home & Living"]
TIERS = ["bronze", "silver", "gold", "platinum"]


def tag(id: str, type: str, values=None) -> Tag:
    return Tag(id=id, name={"en": id}, taxonomy=["test"], kind="fact", type=type, values=values, owner="test", sql="1")


TAGS = [
    tag("flag", "bool"), tag("tier", "enum", TIERS), tag("city", "string"), tag("handle", "string"),
    tag("age", "integer"), tag("big", "integer"), tag("score", "number"), tag("ratio", "number"),
    tag("seen_at", "timestamp"), tag("interests", "weighted_set"),
]


@dataclass
class Synth:
    root: Path
    n: int
    tz: str
    as_of: datetime
    seen: list = field(default_factory=list)  # timestamps present in the data (for equality literals)
    ratios: list = field(default_factory=list)

    @property
    def profiles(self) -> Path:
        return self.root / "profiles.parquet"

    @property
    def clock(self) -> Clock:
        return Clock(self.as_of, self.tz)

    @property
    def tags(self) -> dict:
        return {t.id: t for t in TAGS}

    @property
    def index(self):
        return open_index(self.root / "bitmaps")

    @property
    def table(self) -> ProfileTable:
        return ProfileTable(self.profiles, self.tz)

    cities = CITIES
    keys = KEYS
    tiers = TIERS
    segments = {
        "young": SegmentSource("young", "age < 30"),
        "fans": SegmentSource("fans", "tier = 'gold' OR interests HAS 'Books'"),
        "young_fans": SegmentSource("young_fans", "@young AND NOT @fans"),
        "young_a": SegmentSource("young_a", split=SplitSpec("young", 7, 0, 2**63)),
    }


def _nulls(rng, n, rate):
    return rng.random(n) < rate


def make_profiles(root: Path, seed: int, n: int | None = None, tz: str = "Europe/London") -> Synth:
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(40, 400))
    rate = float(rng.choice([0.0, 0.1, 0.4]))
    as_of = datetime(2021, 4, 1, tzinfo=timezone.utc)
    zone = ZoneInfo(tz)
    ids = sorted(f"u{i:05d}" for i in rng.choice(100_000, n, replace=False))
    def mask(values, r=rate):
        return [None if m else v for v, m in zip(values, _nulls(rng, n, r))]
    flag = mask(rng.random(n) < 0.5)
    tier = mask(rng.choice(TIERS, n).tolist())
    city = mask(rng.choice(CITIES, n).tolist())
    handle = mask([f"h{int(x)}" for x in rng.integers(0, 60, n)])
    age = mask([int(x) for x in rng.integers(-5, 90, n)])
    big = mask([int(x) for x in rng.choice([0, 7, 10**12, -(10**13), 2**40 + 3], n)])
    score = mask([float(x) for x in np.round(rng.normal(50, 30, n), 2)])
    ratio_vals = rng.normal(0, 1, n) / 7
    ratio_vals[: min(3, n)] = [np.nan, np.inf, -np.inf][: min(3, n)]
    ratio = mask([float(x) for x in ratio_vals])
    base = datetime(2021, 3, 20, tzinfo=timezone.utc)
    seen_dt = [base + timedelta(seconds=int(s)) for s in rng.integers(0, 86400 * 20, n)]
    seen = mask(seen_dt)
    interests = []
    for i in range(n):
        r = rng.random()
        if r < rate / 2:
            interests.append(None)
        elif r < rate / 2 + 0.05:
            interests.append([])
        else:
            k = int(rng.integers(1, 4))
            items = []
            for key in rng.choice(KEYS, k, replace=True).tolist():  # duplicates: the first one counts
                w = None if rng.random() < 0.05 else float(np.round(rng.random(), 2))
                items.append({"key": key, "weight": w})
            if rng.random() < 0.03:
                items.append(None)  # a NULL element
            interests.append(items)
    wtype = pa.list_(pa.struct([("key", pa.string()), ("weight", pa.float64())]))
    table = pa.table({
        "user_id": pa.array(ids, pa.string()), "flag": pa.array(flag, pa.bool_()), "tier": pa.array(tier, pa.string()),
        "city": pa.array(city, pa.string()), "handle": pa.array(handle, pa.string()),
        "age": pa.array(age, pa.int64()), "big": pa.array(big, pa.int64()), "score": pa.array(score, pa.float64()),
        "ratio": pa.array(ratio, pa.float64()), "seen_at": pa.array(seen, pa.timestamp("us", tz="UTC")),
        "interests": pa.array(interests, wtype),
    })
    root.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / "profiles.parquet", row_group_size=64)
    build_index(root / "profiles.parquet", TAGS, root / "bitmaps", max_distinct=20, bins=[1, 2, 3, 5, 8, 16][seed % 6],
                pure_bins=[100, 5, 0, 20, 100, 3][seed % 6])
    s = Synth(root, n, tz, as_of)
    s.seen = [d.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") for d in seen_dt[:20]]
    s.ratios = [float(x) for x in ratio_vals[3:20]]
    return s


@pytest.fixture(scope="session")
def synth_factory(tmp_path_factory):
    cache: dict = {}

    def get(seed: int, tz: str = "Europe/London", n: int | None = None) -> Synth:
        key = (seed, tz, n)
        if key not in cache:
            cache[key] = make_profiles(tmp_path_factory.mktemp(f"synth{seed}"), seed, n, tz)
        return cache[key]

    return get


# -- real data -------------------------------------------------------------------------------

def _data_home() -> Path:
    home = Path(os.environ.get("PORTRAIT_DATA_HOME") or REPO.parent / "shared" / "datasets")
    os.environ["PORTRAIT_DATA_HOME"] = str(home)
    return home


@dataclass
class Built:
    root: Path
    snapshot: object
    historical: object | None = None


def _build(name: str, target: Path, as_of: datetime | None = None) -> Built:
    from portrait.pipeline import build

    if not (target / "portrait.yaml").exists():
        shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("__pycache__", "warehouse"))
    historical = build(target, as_of=as_of).snapshot if as_of else None
    current = build(target).snapshot
    return Built(target, current, historical)


@pytest.fixture(scope="session")
def seg_retail(tmp_path_factory) -> Built:
    """Online Retail built twice: as of 2011-09-01 (historical) and current (for diff)."""
    if not (_data_home() / "online-retail").exists():
        pytest.skip("Online Retail data set not found; set PORTRAIT_DATA_HOME")
    return _build("online-retail", tmp_path_factory.mktemp("seg_retail") / "project", datetime(2011, 9, 1))


@pytest.fixture(scope="session")
def seg_movielens(tmp_path_factory) -> Built:
    if not (_data_home() / "movielens-100k").exists():
        pytest.skip("MovieLens data set not found; set PORTRAIT_DATA_HOME")
    return _build("movielens", tmp_path_factory.mktemp("seg_movielens") / "project")
