"""Recorded articles: reading JSON Lines, the replay order, the docs handed to clustering."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.errors import AggregatorError
from aggregator.read.replay import ReplayError, read_records, replay_order, to_doc


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rec(record_id: str, published: str | None = None, **extra: object) -> dict[str, object]:
    return {"id": record_id, "title": f"title {record_id}", "published": published, **extra}


def test_reads_records_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(rec("a")), "", json.dumps(rec("b"))])
    assert [r["id"] for r in read_records(path)] == ["a", "b"]


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(rec("a")), '{"id": "b", oops}'])
    with pytest.raises(ReplayError, match=r"records\.jsonl:2: invalid JSON") as info:
        read_records(path)
    assert isinstance(info.value, AggregatorError) and info.value.line == 2


@pytest.mark.parametrize(("line", "message"), [("[1, 2]", "JSON object"), ("{}", '"id"')])
def test_records_must_be_objects_with_ids(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ReplayError, match=message):
        read_records(write(tmp_path, [line]))


def test_missing_file_is_a_replay_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="cannot open"):
        read_records(tmp_path / "nope.jsonl")


def test_order_is_by_time_with_ties_in_file_order() -> None:
    records = [
        rec("late", "2024-05-02T10:00:00Z"),
        rec("early", "2024-05-01"),
        rec("tie-1", "2024-05-01T12:00:00+00:00"),
        rec("tie-2", "2024-05-01T14:00:00+02:00"),  # the same instant as tie-1
    ]
    assert [r["id"] for r in replay_order(records)] == ["early", "tie-1", "tie-2", "late"]


def test_undated_records_go_at_the_last_known_time_before_them() -> None:
    records = [
        rec("lead", None),  # before any date: at the first known time
        rec("b", "2024-05-03"),
        rec("c", None),  # seen after b
        rec("a", "2024-05-01"),
        rec("d", ""),  # after a
    ]
    assert [r["id"] for r in replay_order(records)] == ["a", "d", "lead", "b", "c"]


def test_without_any_dates_file_order_is_kept() -> None:
    records = [rec("x"), rec("y"), rec("z")]
    assert replay_order(records) == records


def test_to_doc() -> None:
    doc = to_doc(rec("r1", "2024-05-01", text=None, source="Courier"))
    assert doc.id == "r1" and doc.title == "title r1" and doc.text == ""
    assert doc.published == datetime(2024, 5, 1, tzinfo=UTC)
    assert doc.source == "Courier"
    assert to_doc({"id": 7, "title": None, "published": "not a date"}).published is None
