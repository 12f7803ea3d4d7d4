"""Reading load.json: the contract's version and required fields are checked, naming the file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rerank_eval.records import SchemaError
from rerank_eval.report.load import read_load

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "load-sample"


def sample() -> dict[str, Any]:
    return json.loads((SAMPLE / "load.json").read_text(encoding="utf-8"))


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "load.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_reads_the_sample_from_its_folder_or_the_file() -> None:
    from_folder = read_load(SAMPLE)
    assert from_folder == read_load(SAMPLE / "load.json") == sample()
    assert from_folder["mode"] == "closed" and len(from_folder["levels"]) == 5


def test_a_newer_schema_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    data = sample()
    data["schema_version"] = 2
    path = write(tmp_path, data)
    with pytest.raises(SchemaError) as caught:
        read_load(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert "'schema_version' is 2" in message and "newer rerank-eval" in message


@pytest.mark.parametrize(("drop", "field"), [
    (("schema_version",), "'schema_version'"),
    (("levels",), "'levels'"),
    (("mode",), "'mode'"),
    (("levels", 3, "latency_ms"), "'levels[3].latency_ms'"),
    (("levels", 0, "concurrency"), "'levels[0].concurrency'"),
    (("levels", 1, "errors"), "'levels[1].errors'"),
])
def test_a_missing_required_field_is_named(tmp_path: Path, drop: tuple[Any, ...],
                                           field: str) -> None:
    data = sample()
    parent = data
    for key in drop[:-1]:
        parent = parent[key]
    del parent[drop[-1]]
    path = write(tmp_path, data)
    with pytest.raises(SchemaError, match="missing required field") as caught:
        read_load(path)
    assert str(path) in str(caught.value) and field in str(caught.value)


@pytest.mark.parametrize(("key", "value", "says"), [
    ("schema_version", "1", "not a version number"),
    ("schema_version", True, "not a version number"),
    ("kind", "run", "not 'load'"),
    ("mode", "burst", "not 'closed' or 'open'"),
    ("levels", {}, "not a list"),
])
def test_a_wrong_value_is_refused(tmp_path: Path, key: str, value: Any, says: str) -> None:
    data = sample()
    data[key] = value
    with pytest.raises(SchemaError, match=says):
        read_load(write(tmp_path, data))


def test_open_loop_levels_need_their_offered_rate(tmp_path: Path) -> None:
    data = sample()
    data["mode"] = "open"  # the levels still carry concurrency and a null offered_qps
    with pytest.raises(SchemaError, match=r"'levels\[0\].offered_qps' is None, not a number"):
        read_load(write(tmp_path, data))


def test_unknown_keys_are_ignored(tmp_path: Path) -> None:
    data = sample()
    data["added_later"] = {"anything": [1, 2]}
    data["levels"][0]["gpu_util"] = 0.93
    data["settings"]["new_knob"] = "x"
    assert read_load(write(tmp_path, copy.deepcopy(data))) == data


def test_not_json_and_absent_files_are_named(tmp_path: Path) -> None:
    path = tmp_path / "load.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SchemaError, match="not valid JSON") as caught:
        read_load(tmp_path)
    assert str(path) in str(caught.value)
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        read_load(tmp_path / "elsewhere")
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SchemaError, match="not a JSON object"):
        read_load(path)
