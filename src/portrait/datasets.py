"""Public data sets used by the examples and tests, found locally or fetched once from their origin.

Why: example projects point at `dataset://NAME/FILE` instead of committing data (MovieLens forbids
redistribution), so every machine must be able to locate or rebuild the exact same bytes.

Lookup order for `dataset_path(name, file)`:

1. `$PORTRAIT_DATA_HOME/<name>/<file>` (a shared, read-only folder of data sets);
2. the user cache: `$PORTRAIT_CACHE_DIR/<name>/<file>`, default `~/.cache/portrait/datasets/<name>/<file>`
   (`$XDG_CACHE_HOME` replaces `~/.cache`);
3. a download from the original public source into the cache, verified against the sha256 sums
   published with the data sets. A failed download or a checksum mismatch raises `DatasetError`
   naming the file and the folders to put it in. `PORTRAIT_OFFLINE=1` skips the download.

Base URLs can be overridden (module constants or `PORTRAIT_MOVIELENS_URL` / `PORTRAIT_ONLINE_RETAIL_URL`)
so tests can serve the files from a loopback HTTP server.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from portrait.errors import DatasetError

TIMEOUT = 10.0  # seconds per request: fail fast when offline

MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
ONLINE_RETAIL_URL = (
    "https://raw.githubusercontent.com/databricks/Spark-The-Definitive-Guide/"
    "4ba5601eb9b9aed1d01ab79775e3af228216ff6f/data/retail-data/by-day"
)
# The by-day folder holds one CSV per trading day in this range; missing days (Saturdays, holidays) are 404s.
RETAIL_FIRST_DAY = dt.date(2010, 12, 1)
RETAIL_LAST_DAY = dt.date(2011, 12, 9)

# sha256 of the *uncompressed* online_retail.csv: gzip output differs between implementations.
RETAIL_CSV_SHA256 = "c35975c40d0e1e105090fbb11188a409393055f873841bd012915475fc84e69f"

MOVIELENS_SHA256 = {
    "README.grouplens.txt": "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52",
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
    "u.info": "5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u.occupation": "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
    "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
    "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
    "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
    "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
    "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
    "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
    "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
    "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
    "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
    "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
    "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
    "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
}
# Zip member names differ from ours only for the GroupLens README.
_ZIP_NAMES = {"README.grouplens.txt": "README"}


@dataclass(frozen=True)
class Dataset:
    name: str
    files: tuple[str, ...]
    origin: str  # shown in error messages so users can fetch the data by hand


DATASETS: dict[str, Dataset] = {
    "online-retail": Dataset(
        "online-retail",
        ("online_retail.csv.gz",),
        "UCI Online Retail, rebuilt from github.com/databricks/Spark-The-Definitive-Guide data/retail-data/by-day",
    ),
    "movielens-100k": Dataset("movielens-100k", tuple(MOVIELENS_SHA256), MOVIELENS_URL),
}


# ---------------------------------------------------------------- locations


def data_home() -> Path | None:
    value = os.environ.get("PORTRAIT_DATA_HOME")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Root of the per-user data-set cache."""
    if os.environ.get("PORTRAIT_CACHE_DIR"):
        return Path(os.environ["PORTRAIT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "portrait" / "datasets"


def _dataset(name: str, file: str | None = None) -> Dataset:
    ds = DATASETS.get(name)
    if ds is None:
        raise DatasetError(f"unknown data set {name!r}", hint=f"known data sets: {', '.join(DATASETS)}")
    if file is not None and file not in ds.files:
        raise DatasetError(f"data set {name!r} has no file {file!r}", hint=f"its files: {', '.join(ds.files)}")
    return ds


def _folders(name: str) -> list[Path]:
    home = data_home()
    return ([home / name] if home else []) + [cache_dir() / name]


def _where_to_put(name: str, file: str) -> str:
    home = data_home()
    first = str(home / name) if home else f"$PORTRAIT_DATA_HOME/{name}"
    return f"put {file} in {first}/ or {cache_dir() / name}/"


def find_local(name: str, file: str) -> Path | None:
    """The first existing copy in the data home or the cache, without any download."""
    _dataset(name, file)
    for folder in _folders(name):
        if (folder / file).is_file():
            return folder / file
    return None


def dataset_path(name: str, file: str) -> Path:
    """Local path of one data-set file, downloading (and verifying) it into the cache on first use."""
    found = find_local(name, file)
    if found is not None:
        return found
    try:
        if os.environ.get("PORTRAIT_OFFLINE", "").lower() in ("1", "true", "yes"):
            raise DatasetError("downloads are disabled (PORTRAIT_OFFLINE is set)")
        _DOWNLOADERS[name](cache_dir() / name)
    except DatasetError as e:
        raise DatasetError(
            f"data set file {file} ({name}) is not available locally and could not be downloaded: "
            f"{e.message}. {_where_to_put(name, file)}",
            hint=f"original source: {DATASETS[name].origin}",
        ) from e
    path = cache_dir() / name / file
    if not path.is_file():  # pragma: no cover - downloaders write every file they verify
        raise DatasetError(f"download of {name} did not produce {file}. {_where_to_put(name, file)}")
    return path


# ---------------------------------------------------------------- download


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch(url: str) -> bytes | None:
    """Bytes at `url`; None for a 404; DatasetError for anything else (offline, timeouts, 5xx)."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise DatasetError(f"HTTP {e.code} for {url}") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DatasetError(f"cannot reach {url} ({reason})") from e


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download_movielens(target: Path) -> None:
    url = os.environ.get("PORTRAIT_MOVIELENS_URL") or MOVIELENS_URL
    blob = _fetch(url)
    if blob is None:
        raise DatasetError(f"HTTP 404 for {url}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except zipfile.BadZipFile as e:
        raise DatasetError(f"{url} is not a zip file") from e
    members = {Path(n).name: n for n in archive.namelist() if not n.endswith("/")}
    contents: dict[str, bytes] = {}
    for file, expected in MOVIELENS_SHA256.items():
        member = members.get(_ZIP_NAMES.get(file, file))
        if member is None:
            raise DatasetError(f"{url} has no member {_ZIP_NAMES.get(file, file)}")
        data = archive.read(member)
        if _sha256(data) != expected:
            raise DatasetError(f"checksum mismatch for {file} from {url}: sha256 {_sha256(data)}, expected {expected}")
        contents[file] = data
    for file, data in contents.items():  # all-or-nothing: write only once every member verified
        _write_atomic(target / file, data)


def _download_online_retail(target: Path) -> None:
    base = (os.environ.get("PORTRAIT_ONLINE_RETAIL_URL") or ONLINE_RETAIL_URL).rstrip("/")
    parts: list[bytes] = []
    day = RETAIL_FIRST_DAY
    while day <= RETAIL_LAST_DAY:
        body = _fetch(f"{base}/{day.isoformat()}.csv")
        if body is not None:
            # Keep the header of the first file only; rows stay byte-for-byte unchanged.
            parts.append(body if not parts else body.split(b"\n", 1)[1] if b"\n" in body else b"")
        day += dt.timedelta(days=1)
    if not parts:
        raise DatasetError(f"no daily files found under {base}/")
    csv_bytes = b"".join(parts)
    digest = _sha256(csv_bytes)
    if digest != RETAIL_CSV_SHA256:
        raise DatasetError(
            f"checksum mismatch for online_retail.csv rebuilt from {len(parts)} daily files under {base}/: "
            f"sha256 {digest}, expected {RETAIL_CSV_SHA256}"
        )
    _write_atomic(target / "online_retail.csv.gz", gzip.compress(csv_bytes, compresslevel=9, mtime=0))


_DOWNLOADERS = {"movielens-100k": _download_movielens, "online-retail": _download_online_retail}


# ---------------------------------------------------------------- verify


def verify(name: str) -> dict[str, str]:
    """Check local copies against the published sha256: {file: "ok" | "missing" | "mismatch"}. No download."""
    _dataset(name)
    result: dict[str, str] = {}
    for file in DATASETS[name].files:
        path = find_local(name, file)
        if path is None:
            result[file] = "missing"
            continue
        if name == "online-retail":
            with gzip.open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            expected = RETAIL_CSV_SHA256
        else:
            with path.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            expected = MOVIELENS_SHA256[file]
        result[file] = "ok" if digest == expected else "mismatch"
    return result
