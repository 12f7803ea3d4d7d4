"""Downloading a BEIR archive into the cache: streamed, MD5-checked, extracted atomically."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import httpx

from rerank_eval.datasets.beir import CORPUS_FILE
from rerank_eval.datasets.model import DatasetError
from rerank_eval.datasets.registry import beir_registry, known_beir_datasets

# The package's one logger, as before the split into modules.
log = logging.getLogger("rerank_eval.datasets")

URL_ENV = "RERANK_EVAL_DATASETS_URL"
DOWNLOAD_RECORD = ".rerank-eval-download.json"

_DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, read=120.0)
_CHUNK = 1 << 20


def download_beir(name: str, cache_dir: Path, *, base_url: str | None = None,
                  verify: bool = True) -> Path:
    """Download BEIR's ``<name>.zip`` into ``cache_dir/<name>`` and return that folder.

    The archive is streamed to a temporary folder inside ``cache_dir``, its MD5 checked
    against the registry, extracted there, and only then renamed into place, so an
    interrupted or failed download leaves nothing behind. The base URL is ``base_url``,
    else ``$RERANK_EVAL_DATASETS_URL``, else BEIR's server. An archive without a
    published MD5 is refused unless ``verify=False``.
    """
    registry = beir_registry()
    entry = registry.entries.get(name)
    if entry is None:
        raise DatasetError(f"no download entry for {name!r}; "
                           f"downloadable BEIR datasets: {', '.join(known_beir_datasets())}")
    if not entry.public:
        raise DatasetError(f"cannot download {name!r}: {entry.note}")
    if verify and entry.md5 is None:
        raise DatasetError(f"no published checksum for {name!r} in the dataset registry; "
                           "refusing to download it unverified (pass verify=False / --no-verify "
                           "to accept it anyway)")
    target = cache_dir / name
    if target.is_dir():
        return target
    base = (base_url or os.environ.get(URL_ENV) or registry.base_url).rstrip("/")
    url = f"{base}/{name}.zip"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=f".{name}.download-") as tmp:
        archive = Path(tmp) / f"{name}.zip"
        log.info("downloading %s", url)
        md5, sha256 = _fetch(url, archive)
        if verify and md5 != entry.md5:
            raise DatasetError(f"{url}: checksum mismatch: expected md5 {entry.md5}, got {md5}; "
                               "the download was discarded")
        folder = _extract(archive, Path(tmp) / "extracted", name, url)
        record = {"url": url, "md5": md5, "sha256": sha256, "verified": verify,
                  "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds")}
        (folder / DOWNLOAD_RECORD).write_text(json.dumps(record, indent=2) + "\n", "utf-8")
        try:
            folder.rename(target)
        except OSError:
            if not target.is_dir():  # not a concurrent download that finished first
                raise
    log.info("%s: extracted to %s", url, target)
    return target


def _fetch(url: str, dest: Path) -> tuple[str, str]:
    """Stream ``url`` to ``dest``; return its (md5, sha256) hex digests."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    try:
        with httpx.stream("GET", url, timeout=_DOWNLOAD_TIMEOUT, follow_redirects=True) as resp:
            if resp.status_code != 200:
                raise DatasetError(f"{url}: download failed: HTTP {resp.status_code}")
            with dest.open("wb") as handle:
                for chunk in resp.iter_bytes(_CHUNK):
                    handle.write(chunk)
                    md5.update(chunk)
                    sha256.update(chunk)
    except httpx.HTTPError as exc:
        raise DatasetError(f"{url}: download failed: {type(exc).__name__}: {exc}") from exc
    return md5.hexdigest(), sha256.hexdigest()


def _extract(archive: Path, dest: Path, name: str, url: str) -> Path:
    """Extract ``archive`` under ``dest`` and return the dataset folder inside it."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                parts = PurePosixPath(member).parts
                if member.startswith("/") or ".." in parts:
                    raise DatasetError(f"{url}: unsafe path in archive: {member!r}")
            zf.extractall(dest)
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{url}: not a valid zip archive: {exc}") from exc
    if (dest / name).is_dir():
        return dest / name
    if (dest / CORPUS_FILE).is_file():
        return dest
    raise DatasetError(f"{url}: the archive has neither a top-level {name}/ folder "
                       f"nor a {CORPUS_FILE}")

