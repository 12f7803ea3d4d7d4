"""Downloading a BEIR zip from a real HTTP server on 127.0.0.1: checksum, extraction, cache,
sub-datasets, and errors that name the URL."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.sample_beir import isolate_datasets, tiny_with_marker, write_sample_beir, zip_folder

from rerank_eval import datasets as ds
from rerank_eval.datasets import BeirEntry, DatasetError, beir_registry, download_beir, load_dataset


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_datasets(tmp_path, monkeypatch)


@dataclass
class ZipServer:
    base_url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def zip_server() -> Iterator[ZipServer]:
    """A real HTTP server on 127.0.0.1 serving ``files`` under ``/beir/``."""
    state = ZipServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.files.get(self.path.removeprefix("/beir/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/beir"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def serve_scifact(tmp_path: Path, server: ZipServer, monkeypatch: pytest.MonkeyPatch,
                  md5: str | None = "real") -> bytes:
    body = zip_folder(write_sample_beir(tmp_path / "src" / "scifact"), top="scifact")
    server.files["scifact.zip"] = body
    real = hashlib.md5(body).hexdigest()
    monkeypatch.setitem(beir_registry().entries, "scifact",
                        BeirEntry("scifact", md5=real if md5 == "real" else md5))
    monkeypatch.setenv(ds.URL_ENV, server.base_url)
    return body


def test_download_verifies_extracts_and_caches(tmp_path: Path, zip_server: ZipServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    body = serve_scifact(tmp_path, zip_server, monkeypatch)
    cache = tmp_path / "cache"

    dataset = load_dataset("scifact", cache_dir=cache)

    assert zip_server.requests == ["/beir/scifact.zip"]
    assert dataset.path == cache / "scifact"
    assert dataset.qrels == {"q1": {"d1": 2, "2": 0}, "2": {"d3": 1, "d4": -1}}
    assert sorted(p.name for p in cache.iterdir()) == ["scifact"]  # no temp leftovers
    record = json.loads((cache / "scifact" / ds.DOWNLOAD_RECORD).read_text())
    assert record["md5"] == hashlib.md5(body).hexdigest()
    assert record["url"] == f"{zip_server.base_url}/scifact.zip"

    again = load_dataset("scifact", cache_dir=cache)
    assert zip_server.requests == ["/beir/scifact.zip"]  # served from the cache
    assert again.fingerprint == dataset.fingerprint


def test_checksum_mismatch_leaves_the_cache_empty(tmp_path: Path, zip_server: ZipServer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    body = serve_scifact(tmp_path, zip_server, monkeypatch, md5="0" * 32)
    cache = tmp_path / "cache"

    with pytest.raises(DatasetError) as caught:
        load_dataset("scifact", cache_dir=cache)

    message = str(caught.value)
    assert f"{zip_server.base_url}/scifact.zip" in message
    assert "expected md5 " + "0" * 32 in message
    assert hashlib.md5(body).hexdigest() in message
    assert list(cache.iterdir()) == []


def test_missing_checksum_needs_explicit_opt_out(tmp_path: Path, zip_server: ZipServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    serve_scifact(tmp_path, zip_server, monkeypatch, md5=None)
    cache = tmp_path / "cache"

    with pytest.raises(DatasetError, match="no published checksum for 'scifact'"):
        load_dataset("scifact", cache_dir=cache)
    assert zip_server.requests == []

    dataset = load_dataset("scifact", cache_dir=cache, verify=False)
    assert len(dataset.queries) == 2
    assert json.loads((cache / "scifact" / ds.DOWNLOAD_RECORD).read_text())["verified"] is False


def test_download_errors_name_the_url(tmp_path: Path, zip_server: ZipServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(beir_registry().entries, "scifact", BeirEntry("scifact", md5="0" * 32))
    cache = tmp_path / "cache"

    with pytest.raises(DatasetError, match=r"/beir/scifact\.zip: download failed: HTTP 404"):
        download_beir("scifact", cache, base_url=zip_server.base_url + "/")
    assert list(cache.iterdir()) == []

    zip_server.files["scifact.zip"] = b"not a zip"
    monkeypatch.setitem(beir_registry().entries, "scifact",
                        BeirEntry("scifact", md5=hashlib.md5(b"not a zip").hexdigest()))
    with pytest.raises(DatasetError, match="not a valid zip archive"):
        download_beir("scifact", cache, base_url=zip_server.base_url)
    assert list(cache.iterdir()) == []


def test_archive_with_sub_datasets(tmp_path: Path, zip_server: ZipServer,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "src"
    tiny_with_marker(source / "android", "android")
    tiny_with_marker(source / "gaming", "gaming")
    body = zip_folder(source, top="cqadupstack")
    zip_server.files["cqadupstack.zip"] = body
    monkeypatch.setitem(beir_registry().entries, "cqadupstack",
                        BeirEntry("cqadupstack", md5=hashlib.md5(body).hexdigest()))
    monkeypatch.setenv(ds.URL_ENV, zip_server.base_url)
    cache = tmp_path / "cache"

    dataset = load_dataset("cqadupstack/gaming", cache_dir=cache)
    assert dataset.name == "cqadupstack/gaming"
    assert dataset.corpus["d1"].text == "gaming"

    with pytest.raises(DatasetError, match="cqadupstack/android, cqadupstack/gaming"):
        load_dataset("cqadupstack", cache_dir=cache)
    with pytest.raises(DatasetError, match="has no 'cqadupstack/chess'"):
        load_dataset("cqadupstack/chess", cache_dir=cache)
    assert len(zip_server.requests) == 1
