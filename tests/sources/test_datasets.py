"""portrait.datasets: local lookup order, offline errors, and real downloads served from a loopback HTTP server.

The loopback server serves archives rebuilt from the real data files (in tmp, never in the repo), so the
download, extraction, concatenation and sha256 checks run for real.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import os
import re
import threading
import zipfile
from pathlib import Path

import pytest

from portrait import datasets
from portrait.datasets import dataset_path, verify
from portrait.errors import DatasetError

REPO = Path(__file__).resolve().parents[2]


def _shared() -> Path:
    path = Path(os.environ.get("PORTRAIT_DATA_HOME") or REPO.parent / "shared" / "datasets")
    if not (path / "online-retail" / "online_retail.csv.gz").exists():
        pytest.fail(f"real data sets not found in {path}: set PORTRAIT_DATA_HOME")
    return path


SHARED = _shared()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty data home and cache; downloads pointed at a closed loopback port unless a test serves files."""
    monkeypatch.setenv("PORTRAIT_DATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PORTRAIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PORTRAIT_OFFLINE", raising=False)
    monkeypatch.setenv("PORTRAIT_MOVIELENS_URL", "http://127.0.0.1:9/ml-100k.zip")
    monkeypatch.setenv("PORTRAIT_ONLINE_RETAIL_URL", "http://127.0.0.1:9/by-day")
    return tmp_path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def serve():
    """serve(folder) → base URL of a loopback HTTP server for that folder."""
    servers = []

    def start(folder: Path) -> str:
        handler = type("H", (_Quiet,), {"requests": []})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        start.handler = handler
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ml_zip(target: Path, tamper: str | None = None) -> Path:
    """An ml-100k.zip laid out like the GroupLens one, from the real files."""
    target.mkdir(parents=True, exist_ok=True)
    path = target / "ml-100k.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in sorted((SHARED / "movielens-100k").iterdir()):
            if f.name == "README.md":
                continue
            data = f.read_bytes()
            if f.name == tamper:
                data = data.replace(b"Action", b"Actlon")
            z.writestr("ml-100k/" + ("README" if f.name == "README.grouplens.txt" else f.name), data)
        z.writestr("ml-100k/mku.sh", b"#!/bin/sh\n")
    return path


@pytest.fixture(scope="module")
def by_day(tmp_path_factory) -> Path:
    """The Online Retail file split back into the Databricks daily files (header on each)."""
    folder = tmp_path_factory.mktemp("retail-origin") / "by-day"
    folder.mkdir()
    raw = gzip.open(SHARED / "online-retail" / "online_retail.csv.gz", "rb").read()
    header, body = raw.split(b"\n", 1)
    days: dict[bytes, list[bytes]] = {}
    date = re.compile(rb",(\d{4}-\d\d-\d\d) \d\d:\d\d:\d\d,")
    for line in body.splitlines(keepends=True):
        days.setdefault(date.search(line).group(1), []).append(line)
    for day, lines in days.items():
        (folder / f"{day.decode()}.csv").write_bytes(header + b"\n" + b"".join(lines))
    return folder


# ------------------------------------------------------------------ local lookup


def test_data_home_is_found_first(isolated):
    home = isolated / "home" / "movielens-100k"
    cache = isolated / "cache" / "movielens-100k"
    for folder in (home, cache):
        folder.mkdir(parents=True)
        (folder / "u.user").write_text(folder.parent.name)
    assert dataset_path("movielens-100k", "u.user") == home / "u.user"


def test_cache_is_used_when_data_home_lacks_the_file(isolated):
    cache = isolated / "cache" / "online-retail"
    cache.mkdir(parents=True)
    (cache / "online_retail.csv.gz").write_bytes(b"x")
    assert dataset_path("online-retail", "online_retail.csv.gz") == cache / "online_retail.csv.gz"


def test_default_cache_is_under_home_cache(monkeypatch):
    monkeypatch.delenv("PORTRAIT_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert datasets.cache_dir() == Path("~/.cache/portrait/datasets").expanduser()


def test_shared_data_home_resolves_real_files(monkeypatch):
    monkeypatch.setenv("PORTRAIT_DATA_HOME", str(SHARED))
    assert dataset_path("movielens-100k", "u.data") == SHARED / "movielens-100k" / "u.data"
    assert verify("movielens-100k") == {f: "ok" for f in datasets.MOVIELENS_SHA256}


def test_unknown_names_are_errors():
    with pytest.raises(DatasetError, match="unknown data set 'nope'"):
        dataset_path("nope", "x")
    with pytest.raises(DatasetError, match="has no file 'u.nothing'"):
        dataset_path("movielens-100k", "u.nothing")


# ------------------------------------------------------------------ offline


def test_offline_error_names_file_and_folders(isolated):
    with pytest.raises(DatasetError) as e:
        dataset_path("online-retail", "online_retail.csv.gz")
    msg = str(e.value)
    assert "online_retail.csv.gz" in msg
    assert f"put online_retail.csv.gz in {isolated / 'home' / 'online-retail'}/" in msg
    assert f"or {isolated / 'cache' / 'online-retail'}/" in msg
    assert "cannot reach http://127.0.0.1:9/by-day/2010-12-01.csv" in msg


def test_offline_error_without_data_home(monkeypatch, isolated):
    monkeypatch.delenv("PORTRAIT_DATA_HOME")
    with pytest.raises(DatasetError, match=r"put u\.item in \$PORTRAIT_DATA_HOME/movielens-100k/ or "):
        dataset_path("movielens-100k", "u.item")


def test_portrait_offline_skips_the_download(monkeypatch):
    monkeypatch.setenv("PORTRAIT_OFFLINE", "1")
    with pytest.raises(DatasetError, match="PORTRAIT_OFFLINE"):
        dataset_path("movielens-100k", "u.data")


# ------------------------------------------------------------------ loopback downloads


def test_movielens_download_verifies_every_member(isolated, serve, monkeypatch):
    base = serve(_ml_zip(isolated / "origin").parent)
    monkeypatch.setenv("PORTRAIT_MOVIELENS_URL", f"{base}/ml-100k.zip")
    path = dataset_path("movielens-100k", "u.user")
    assert path == isolated / "cache" / "movielens-100k" / "u.user"
    for name in datasets.MOVIELENS_SHA256:  # every member written, byte-identical to the real files
        assert (path.parent / name).read_bytes() == (SHARED / "movielens-100k" / name).read_bytes()
    assert not (path.parent / "mku.sh").exists()
    assert verify("movielens-100k") == {f: "ok" for f in datasets.MOVIELENS_SHA256}
    monkeypatch.setenv("PORTRAIT_MOVIELENS_URL", "http://127.0.0.1:9/gone.zip")
    assert dataset_path("movielens-100k", "u.data") == path.parent / "u.data"  # now served from the cache


def test_movielens_checksum_mismatch_writes_nothing(isolated, serve, monkeypatch):
    base = serve(_ml_zip(isolated / "origin", tamper="u.genre").parent)
    monkeypatch.setenv("PORTRAIT_MOVIELENS_URL", f"{base}/ml-100k.zip")
    with pytest.raises(DatasetError, match="checksum mismatch for u.genre") as e:
        dataset_path("movielens-100k", "u.data")
    assert "put u.data in" in str(e.value)
    assert not (isolated / "cache" / "movielens-100k").exists()


def test_online_retail_rebuilt_from_daily_files(isolated, serve, by_day, monkeypatch):
    base = serve(by_day.parent)
    monkeypatch.setenv("PORTRAIT_ONLINE_RETAIL_URL", f"{base}/by-day")
    path = dataset_path("online-retail", "online_retail.csv.gz")
    assert path == isolated / "cache" / "online-retail" / "online_retail.csv.gz"
    rebuilt = gzip.open(path, "rb").read()
    assert rebuilt == gzip.open(SHARED / "online-retail" / "online_retail.csv.gz", "rb").read()
    assert _sha(rebuilt) == "c35975c40d0e1e105090fbb11188a409393055f873841bd012915475fc84e69f"
    requests = serve.handler.requests
    n_days = (datasets.RETAIL_LAST_DAY - datasets.RETAIL_FIRST_DAY).days + 1
    assert len(requests) == n_days and len(list(by_day.iterdir())) == 305  # the other days were 404s
    assert verify("online-retail") == {"online_retail.csv.gz": "ok"}


def test_online_retail_checksum_mismatch(isolated, serve, by_day, monkeypatch):
    base = serve(by_day.parent)
    monkeypatch.setenv("PORTRAIT_ONLINE_RETAIL_URL", f"{base}/by-day")
    monkeypatch.setattr(datasets, "RETAIL_LAST_DAY", datasets.RETAIL_FIRST_DAY.replace(day=3))  # 3 files only
    with pytest.raises(DatasetError, match="checksum mismatch for online_retail.csv rebuilt from 3 daily files"):
        dataset_path("online-retail", "online_retail.csv.gz")
    assert not (isolated / "cache" / "online-retail" / "online_retail.csv.gz").exists()


def test_verify_reports_mismatch_and_missing(isolated):
    folder = isolated / "home" / "movielens-100k"
    folder.mkdir(parents=True)
    (folder / "u.genre").write_bytes(b"not the genres\n")
    result = verify("movielens-100k")
    assert result["u.genre"] == "mismatch" and result["u.data"] == "missing"
    home = isolated / "home" / "online-retail"
    home.mkdir(parents=True)
    (home / "online_retail.csv.gz").write_bytes(gzip.compress(b"InvoiceNo\n"))
    assert verify("online-retail") == {"online_retail.csv.gz": "mismatch"}
