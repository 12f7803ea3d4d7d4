"""BEIR dataset loading: folders, zips, resolution order, download + checksum, HF datasets.

Everything runs offline: downloads are served from 127.0.0.1 and the HF tests use
local files only. The ``shared_data`` tests read the real collections from
``$RERANK_EVAL_DATASETS`` (fail under CI when missing, skip otherwise).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rerank_eval import datasets as ds
from rerank_eval.datasets import (
    BeirEntry,
    CorpusDocument,
    DatasetError,
    beir_registry,
    download_beir,
    known_beir_datasets,
    load_beir_folder,
    load_dataset,
    load_hf_dataset,
)

# Read before the autouse fixture clears it for every test.
SHARED_ROOT = os.environ.get(ds.DATASETS_ENV)

CORPUS = [
    {"_id": "d1", "title": "Alpha", "text": "first document"},
    {"_id": 2, "title": "", "text": "second document"},
    {"_id": "d3", "text": "third document", "metadata": {"url": "https://example.org"}},
    {"_id": "d4", "title": "Only a title"},
]
QUERIES = [
    {"_id": "q1", "text": "query one"},
    {"_id": 2, "text": "query two"},
    {"_id": "q3", "text": "judged in train only"},
]
QRELS_TEST = [("q1", "d1", 2), ("q1", "2", 0), ("2", "d3", 1), ("2", "d4", -1)]
QRELS_TRAIN = [("q3", "d1", 1)]


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def tsv(rows: list[tuple[str, str, int]], header: bool = True) -> str:
    lines = ["query-id\tcorpus-id\tscore"] if header else []
    lines += [f"{q}\t{d}\t{s}" for q, d, s in rows]
    return "\n".join(lines) + "\n"


def write_beir(root: Path, *, corpus: str | None = None, queries: str | None = None,
               qrels: dict[str, str] | None = None) -> Path:
    """A small BEIR folder; any file can be replaced by raw text to make it bad."""
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text(jsonl(CORPUS) if corpus is None else corpus, "utf-8")
    (root / "queries.jsonl").write_text(jsonl(QUERIES) if queries is None else queries, "utf-8")
    splits = {"test": tsv(QRELS_TEST), "train": tsv(QRELS_TRAIN)} if qrels is None else qrels
    for split, text in splits.items():
        (root / "qrels" / f"{split}.tsv").write_text(text, "utf-8")
    return root


def zip_folder(folder: Path, top: str | None) -> bytes:
    """Zip ``folder`` the way BEIR does: everything under a top-level ``top/`` folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                archive.write(path, f"{top}/{rel}" if top else rel)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the user's datasets, cache or network: a download that was not
    meant to happen hits a closed port and fails."""
    monkeypatch.delenv(ds.DATASETS_ENV, raising=False)
    monkeypatch.setenv(ds.CACHE_ENV, str(tmp_path / "default-cache"))
    monkeypatch.setenv(ds.URL_ENV, "http://127.0.0.1:9/closed")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


# --------------------------------------------------------------------------- loading


def test_loads_a_beir_folder(tmp_path: Path) -> None:
    dataset = load_beir_folder(write_beir(tmp_path / "tiny"))

    assert dataset.name == "tiny"
    assert dataset.split == "test"
    assert dataset.path == tmp_path / "tiny"
    assert list(dataset.corpus) == ["d1", "2", "d3", "d4"]  # int id became str
    assert dataset.corpus["d1"] == CorpusDocument("d1", "Alpha", "first document")
    assert dataset.corpus["d1"].full_text == "Alpha first document"
    assert dataset.corpus["2"].full_text == "second document"  # empty title: just text
    assert dataset.corpus["d3"].title == ""  # missing title
    assert dataset.corpus["d4"].full_text == "Only a title"
    # only the queries the split judges (BEIR GenericDataLoader semantics)
    assert dataset.queries == {"q1": "query one", "2": "query two"}
    assert dataset.qrels == {"q1": {"d1": 2, "2": 0}, "2": {"d3": 1, "d4": -1}}
    assert dataset.warnings == []
    assert re.fullmatch(r"[0-9a-f]{64}", dataset.fingerprint)
    assert "docs=4" in repr(dataset) and "first document" not in repr(dataset)


def test_other_split_and_headerless_qrels(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "tiny", qrels={"test": tsv(QRELS_TEST),
                                                   "dev": tsv(QRELS_TRAIN, header=False)})
    dataset = load_beir_folder(folder, split="dev")

    assert dataset.split == "dev"
    assert dataset.queries == {"q3": "judged in train only"}  # first row kept: no header
    assert dataset.qrels == {"q3": {"d1": 1}}


@pytest.mark.parametrize("change", [
    {"corpus": jsonl(CORPUS).replace("first document", "first  document")},
    {"queries": jsonl(QUERIES).replace("query one", "query 1")},
    {"qrels": {"test": tsv([*QRELS_TEST[:-1], ("2", "d4", 2)])}},
], ids=["corpus", "queries", "qrels"])
def test_fingerprint_follows_the_bytes(tmp_path: Path, change: dict) -> None:
    first = load_beir_folder(write_beir(tmp_path / "a"))
    same = load_beir_folder(write_beir(tmp_path / "b"))
    changed = load_beir_folder(write_beir(tmp_path / "c", **change))

    assert first.fingerprint == same.fingerprint
    assert changed.fingerprint != first.fingerprint


def test_loads_a_zip_like_the_folder(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "tiny")
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(zip_folder(folder, top="tiny"))
    flat = tmp_path / "flat.zip"
    flat.write_bytes(zip_folder(folder, top=None))

    from_folder = load_beir_folder(folder)
    from_zip = load_dataset(archive)
    from_flat = load_dataset(str(flat))

    for dataset in (from_zip, from_flat):
        assert dataset.corpus == from_folder.corpus
        assert dataset.qrels == from_folder.qrels
        assert dataset.fingerprint == from_folder.fingerprint
    assert from_zip.name == "tiny"
    assert from_zip.path == archive


# --------------------------------------------------------------------------- bad input

BAD_CORPUS = jsonl(CORPUS[:1]) + '{"_id": "d2", "text": "oops"\n' + jsonl(CORPUS[2:])


@pytest.mark.parametrize(("files", "split", "expected"), [
    pytest.param({"corpus": BAD_CORPUS}, "test",
                 ["corpus.jsonl line 2: invalid JSON"], id="malformed-json"),
    pytest.param({"corpus": jsonl(CORPUS[:2]) + '{"title": "t", "text": "x"}\n'}, "test",
                 ["corpus.jsonl line 3", "missing field '_id'"], id="missing-id"),
    pytest.param({"corpus": jsonl(CORPUS) + '["d9", "text"]\n'}, "test",
                 ["corpus.jsonl line 5", "expected a JSON object"], id="not-an-object"),
    pytest.param({"corpus": jsonl([*CORPUS, {"_id": ["d9"], "text": "x"}])}, "test",
                 ["corpus.jsonl line 5", "field '_id' must be a string or integer"],
                 id="id-wrong-type"),
    pytest.param({"corpus": jsonl([*CORPUS, {"_id": "d9", "text": 7}])}, "test",
                 ["corpus.jsonl line 5", "field 'text' must be a string"], id="text-wrong-type"),
    pytest.param({"queries": jsonl(QUERIES[:1]) + '{"_id": "q2"}\n'}, "test",
                 ["queries.jsonl line 2", "missing field 'text'"], id="query-missing-text"),
    pytest.param({"corpus": jsonl([*CORPUS, {"_id": "d1", "text": "again"}])}, "test",
                 ["corpus.jsonl line 5", "duplicate _id 'd1'", "first at line 1"],
                 id="duplicate-doc"),
    pytest.param({"queries": jsonl([*QUERIES, {"_id": "2", "text": "again"}])}, "test",
                 ["queries.jsonl line 4", "duplicate _id '2'", "first at line 2"],
                 id="duplicate-query"),
    pytest.param({"corpus": "\n"}, "test", ["corpus.jsonl: no documents"], id="empty-corpus"),
    pytest.param({"queries": ""}, "test", ["queries.jsonl: no queries"], id="no-queries"),
    pytest.param({}, "dev", ["qrels/dev.tsv", "no qrels for split 'dev'",
                             "splits that exist: test, train"], id="missing-split"),
    pytest.param({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td3\n"}, "test",
                 ["test.tsv line 3", "expected 3 tab-separated columns", "found 2"],
                 id="qrels-columns"),
    pytest.param({"qrels": "query-id\tcorpus-id\tscore\nq1\td1\thigh\n"}, "test",
                 ["test.tsv line 2", "field 'score'", "'high' is not an integer"],
                 id="qrels-score"),
    pytest.param({"qrels": "query-id\tcorpus-id\tscore\n"}, "test",
                 ["test.tsv: no judgments"], id="qrels-empty"),
])
def test_bad_files_name_file_line_and_field(tmp_path: Path, files: dict[str, str], split: str,
                                            expected: list[str]) -> None:
    qrels = {"test": files["qrels"], "train": tsv(QRELS_TRAIN)} if "qrels" in files else None
    folder = write_beir(tmp_path / "bad", corpus=files.get("corpus"),
                        queries=files.get("queries"), qrels=qrels)

    with pytest.raises(DatasetError) as caught:
        load_beir_folder(folder, split=split)

    message = str(caught.value)
    assert str(folder) in message
    for part in expected:
        assert part in message


def test_missing_corpus_file(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "bad")
    (folder / "queries.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"queries\.jsonl: file missing"):
        load_beir_folder(folder)
    (folder / "corpus.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"no corpus\.jsonl"):
        load_beir_folder(folder)


def test_unknown_qrels_ids_are_counted_warned_and_dropped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = [*QRELS_TEST, ("q1", "d9", 1), ("2", "d9", 1), ("q1", "d8", 1), ("q7", "d1", 1)]
    folder = write_beir(tmp_path / "tiny", qrels={"test": tsv(rows)})

    with caplog.at_level(logging.WARNING, logger="rerank_eval.datasets"):
        dataset = load_beir_folder(folder)

    qrels_file = folder / "qrels" / "test.tsv"
    expected = [
        f"{qrels_file}: 1 judgment name 1 unknown query (e.g. 'q7'); dropped",
        f"{qrels_file}: 3 judgments name 2 unknown documents (e.g. 'd9'); dropped",
    ]
    assert dataset.warnings == expected
    assert [r.getMessage() for r in caplog.records] == expected
    assert dataset.qrels == {"q1": {"d1": 2, "2": 0}, "2": {"d3": 1, "d4": -1}}
    assert set(dataset.queries) == {"q1", "2"}


def test_qrels_naming_nothing_known_is_an_error(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "tiny", qrels={"test": tsv([("q7", "d1", 1)])})
    with pytest.raises(DatasetError, match="none of its 1 judgments names a known query"):
        load_beir_folder(folder)


# --------------------------------------------------------------------------- resolution


def tiny_with_marker(root: Path, marker: str) -> Path:
    """A BEIR folder whose first document's text tells where it was loaded from."""
    corpus = jsonl([{"_id": "d1", "title": "", "text": marker}, *CORPUS[1:]])
    return write_beir(root, corpus=corpus)


def test_datasets_env_wins_over_the_cache(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_with_marker(tmp_path / "shared" / "tiny", "from shared")
    tiny_with_marker(tmp_path / "cache" / "tiny", "from cache")
    monkeypatch.setenv(ds.DATASETS_ENV, str(tmp_path / "shared"))

    dataset = load_dataset("tiny", cache_dir=tmp_path / "cache", download=False)

    assert dataset.corpus["d1"].text == "from shared"
    assert dataset.name == "tiny"
    assert dataset.path == tmp_path / "shared" / "tiny"


def test_datasets_dir_argument_overrides_the_env(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tiny_with_marker(tmp_path / "env" / "tiny", "from env")
    tiny_with_marker(tmp_path / "arg" / "tiny", "from argument")
    monkeypatch.setenv(ds.DATASETS_ENV, str(tmp_path / "env"))

    dataset = load_dataset("tiny", datasets_dir=tmp_path / "arg", download=False)

    assert dataset.corpus["d1"].text == "from argument"


def test_cache_is_used_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shared").mkdir()  # set, but without this dataset
    monkeypatch.setenv(ds.DATASETS_ENV, str(tmp_path / "shared"))
    tiny_with_marker(tmp_path / "cache" / "tiny", "from cache")
    tiny_with_marker(tmp_path / "default-cache" / "datasets" / "tiny", "from default cache")

    assert load_dataset("tiny", cache_dir=tmp_path / "cache").corpus["d1"].text == "from cache"
    assert load_dataset("tiny").corpus["d1"].text == "from default cache"  # $RERANK_EVAL_CACHE


def test_unknown_name_lists_where_it_looked_and_known_names(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv(ds.DATASETS_ENV, str(tmp_path / "shared"))
    with pytest.raises(DatasetError) as caught:
        load_dataset("no-such-set", cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert "unknown dataset 'no-such-set'" in message
    assert str(tmp_path / "shared" / "no-such-set") in message
    assert str(tmp_path / "cache" / "no-such-set") in message
    assert "scifact" in message and "nfcorpus" in message


def test_names_that_cannot_be_fetched(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="BEIR does not distribute bioasq"):
        load_dataset("bioasq", cache_dir=tmp_path / "cache")
    with pytest.raises(DatasetError, match="downloading is off"):
        load_dataset("scifact", cache_dir=tmp_path / "cache", download=False)
    with pytest.raises(DatasetError, match="no such file or folder"):
        load_dataset("./not-here")
    with pytest.raises(DatasetError, match="not a dataset name"):
        load_dataset("a/../b")


def test_registry_has_the_published_checksums() -> None:
    registry = beir_registry()
    assert registry.base_url == "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets"
    assert registry.entries["scifact"].md5 == "5f7d1de60b170fc8027bb7898e2efca1"
    assert registry.entries["nfcorpus"].md5 == "a89dba18a62ef92f7d323ec890a0d38d"
    for name in known_beir_datasets():
        assert re.fullmatch(r"[0-9a-f]{32}", registry.entries[name].md5 or ""), name
    assert "bioasq" not in known_beir_datasets()
    assert len(known_beir_datasets()) == 15


# --------------------------------------------------------------------------- download


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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/beir"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def serve_scifact(tmp_path: Path, server: ZipServer, monkeypatch: pytest.MonkeyPatch,
                  md5: str | None = "real") -> bytes:
    body = zip_folder(write_beir(tmp_path / "src" / "scifact"), top="scifact")
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


# --------------------------------------------------------------------------- Hugging Face


@pytest.fixture
def hf_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def hf_rows(rows: list[tuple[str, str, int]]) -> list[dict]:
    return [{"query-id": q, "corpus-id": d, "score": s} for q, d, s in rows]


def test_hf_saved_to_disk(tmp_path: Path, hf_offline: None) -> None:
    import datasets as hf

    root = tmp_path / "hf-saved"
    corpus = [{"_id": str(r["_id"]), "title": r.get("title", ""), "text": r.get("text", "")}
              for r in CORPUS]
    hf.Dataset.from_list(corpus).save_to_disk(root / "corpus")
    hf.Dataset.from_list([{"_id": str(r["_id"]), "text": r["text"]} for r in QUERIES]
                         ).save_to_disk(root / "queries")
    hf.DatasetDict({"test": hf.Dataset.from_list(hf_rows(QRELS_TEST)),
                    "train": hf.Dataset.from_list(hf_rows(QRELS_TRAIN))}
                   ).save_to_disk(root / "qrels")

    dataset = load_dataset(f"hf:{root}")
    beir = load_beir_folder(write_beir(tmp_path / "beir"))

    assert dataset.corpus == beir.corpus
    assert dataset.queries == beir.queries
    assert dataset.qrels == beir.qrels
    assert dataset.path == root
    assert re.fullmatch(r"[0-9a-f]{64}", dataset.fingerprint)
    assert load_dataset(f"hf:{root}", split="train").qrels == {"q3": {"d1": 1}}
    with pytest.raises(DatasetError, match="no qrels for split 'dev'; splits that exist: test"):
        load_dataset(f"hf:{root}", split="dev")


def test_hf_json_files(tmp_path: Path, hf_offline: None) -> None:
    root = tmp_path / "hf-json"
    for part, text in (("corpus", jsonl(CORPUS)), ("queries", jsonl(QUERIES))):
        (root / part).mkdir(parents=True)
        (root / part / f"{part}.jsonl").write_text(text, "utf-8")
    (root / "qrels").mkdir()
    (root / "qrels" / "test.jsonl").write_text(jsonl(hf_rows(QRELS_TEST)), "utf-8")

    dataset = load_hf_dataset(str(root), cache_dir=tmp_path / "hf-cache")

    assert list(dataset.corpus) == ["d1", "2", "d3", "d4"]
    assert dataset.corpus["d1"].full_text == "Alpha first document"
    assert dataset.queries == {"q1": "query one", "2": "query two"}
    assert dataset.qrels == {"q1": {"d1": 2, "2": 0}, "2": {"d3": 1, "d4": -1}}
    assert dataset.name == "hf-json"


def test_hf_missing_local_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(f"hf:{tmp_path / 'nothing-here'}")


def test_hf_bad_rows_are_named(tmp_path: Path, hf_offline: None) -> None:
    import datasets as hf

    root = tmp_path / "hf-bad"
    hf.Dataset.from_list([{"_id": "d1", "text": "x"}, {"_id": "d1", "text": "y"}]
                         ).save_to_disk(root / "corpus")
    hf.Dataset.from_list([{"_id": "q1"}]).save_to_disk(root / "queries")
    hf.DatasetDict({"test": hf.Dataset.from_list(hf_rows([("q1", "d1", 1)]))}
                   ).save_to_disk(root / "qrels")

    with pytest.raises(DatasetError, match=r"corpus row 1: duplicate _id 'd1' \(first at row 0\)"):
        load_hf_dataset(str(root))
    hf.Dataset.from_list([{"_id": "d1", "text": "x"}]).save_to_disk(root / "corpus2")
    (root / "corpus").rename(root / "corpus-dup")
    (root / "corpus2").rename(root / "corpus")
    with pytest.raises(DatasetError, match=r"queries: missing column 'text'"):
        load_hf_dataset(str(root))


# --------------------------------------------------------------------------- shared data


def shared_dataset(name: str) -> Path:
    """The real collection, or fail (under CI) / skip (elsewhere) saying why it is missing."""
    if not SHARED_ROOT:
        reason = f"${ds.DATASETS_ENV} is not set (point it at ../shared/datasets)"
    elif not (Path(SHARED_ROOT) / name / "corpus.jsonl").is_file():
        reason = f"{Path(SHARED_ROOT) / name} has no corpus.jsonl"
    else:
        return Path(SHARED_ROOT)
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.mark.shared_data
def test_shared_scifact() -> None:
    root = shared_dataset("scifact")
    dataset = load_dataset("scifact", datasets_dir=root, download=False)

    assert len(dataset.corpus) == 5183
    assert len(dataset.queries) == 300
    assert dataset.n_judgments == 339
    assert {score for docs in dataset.qrels.values() for score in docs.values()} == {1}
    assert dataset.warnings == []
    assert all(isinstance(doc_id, str) for doc_id in dataset.corpus)


@pytest.mark.shared_data
def test_shared_cranfield() -> None:
    root = shared_dataset("cranfield")
    dataset = load_dataset("cranfield", datasets_dir=root, download=False)

    assert len(dataset.corpus) == 1400
    assert len(dataset.queries) == 225
    assert dataset.n_judgments == 1612
    assert {score for docs in dataset.qrels.values() for score in docs.values()} == {1, 2, 3, 4}
