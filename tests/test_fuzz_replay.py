"""Fuzzing what the replay oracle reads (--answers): answers CSV, levels .npy / .pt and a
project's answers.sqlite. Property (tests/fuzz_support.py): read correctly — every recorded
answer, none lost or invented — or refused in one line naming the file."""

import pytest

pytest.importorskip("hypothesis", reason="the fuzz suite needs Hypothesis: pip install -e '.[test]'")

import csv
import io
import math
import sqlite3
from pathlib import Path

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from app.engine.events import AnswerRecord, Query
from app.engine.oracle import ReplayOracle
from app.engine.oracle.replay import load_answers
from app.engine.project.answers import AnswerStore
from tests.fuzz_support import read_or_refuse, scratch

IDS = st.integers(min_value=0, max_value=2_000)
LEVELS = st.one_of(st.none(), st.floats(min_value=-2, max_value=3, allow_nan=False, allow_infinity=False))
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


def check_answers(answers) -> None:
    """What the replay oracle may hand to the trainer: ids that index a training set, finite levels."""
    assert isinstance(answers, dict)
    for example, level in answers.items():
        assert type(example) is int and 0 <= example < 2**63, example
        assert level is None or (type(level) is float and math.isfinite(level)), level
    oracle_ids = torch.tensor(sorted(answers), dtype=torch.long)  # what answerable() builds
    assert len(oracle_ids) == len(answers)


def replay_all(path: Path, answers: dict) -> None:
    """The oracle built on the file answers every recorded example with its level, and its
    coverage check agrees with the ids."""
    oracle = ReplayOracle(path)
    assert set(oracle.answerable().tolist()) == set(answers)
    size = (max(answers) + 1) if answers else 1
    note, refusal = read_or_refuse(lambda: oracle.coverage(size), path)
    assert (refusal is not None) == (not answers)
    if answers:
        queries = [Query(example_id=e, label=0, class_name="c", level=0.0, round=1, utility=0.0, noise_seed=0,
                         grid=[0.0, 0.5, 1.0]) for e in sorted(answers)]
        assert oracle.answer(queries) == [answers[e] for e in sorted(answers)]


# -- answers CSV --------------------------------------------------------------------------------------
@st.composite
def answer_rows(draw):
    """(rows of (example_id, level, undone), expected {id: level}): the last live answer wins."""
    rows = draw(st.lists(st.tuples(IDS, LEVELS, st.booleans()), max_size=25))
    expected = {}
    for example, level, undone in rows:
        if not undone:
            expected[example] = level
    return rows, expected


@given(answer_rows(), st.sampled_from([",", ";", "\t"]), st.booleans(), st.booleans(), st.booleans(),
       st.lists(st.sampled_from(["id", "source", "round", "grid", "note"]), unique=True, max_size=3),
       st.sampled_from(["\n", "\r\n"]))
def test_a_well_formed_csv_loses_no_answer(data, separator, bom, quote, shuffle, extra, newline):
    rows, expected = data
    columns = ["example_id", "level", "undone", *extra]
    if shuffle:
        columns = columns[::-1]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, quoting=csv.QUOTE_ALL if quote else csv.QUOTE_MINIMAL,
                        lineterminator=newline)
    writer.writerow(columns)
    for example, level, undone in rows:
        values = {"example_id": example, "level": "" if level is None else repr(level), "undone": int(undone),
                  "id": 1, "source": "expert", "round": 2, "grid": "[0.0, 0.5]", "note": "a;b,c\td"}
        writer.writerow([values[c] for c in columns])
    with scratch() as folder:
        path = folder / "answers.csv"
        path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        assert refusal is None, refusal
        check_answers(answers)
        assert answers == expected  # not one answer lost, none invented
        replay_all(path, expected)


CELL = st.one_of(
    TEXT, IDS.map(str), st.integers().map(str), st.floats().map(repr),
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e400", "-1", "0x10", "1_000", "3.", ".5", "٣", "１", "true", "\x00"]),
)


@given(st.lists(st.lists(CELL, max_size=5), max_size=8), st.sampled_from([",", ";", "\t", "|"]),
       st.sampled_from(["example_id,level", "example_id;level", "level,example_id,undone", "id,answer", ""]))
def test_any_csv_is_read_or_refused_in_one_line(rows, separator, header):
    text = header + "\n" + "\n".join(separator.join(row) for row in rows)
    with scratch() as folder:
        path = folder / "a.csv"
        path.write_text(text, encoding="utf-8")
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        if refusal is None:
            check_answers(answers)


@given(st.binary(max_size=400))
def test_any_bytes_as_a_csv_are_read_or_refused(data):
    with scratch() as folder:
        path = folder / "a.csv"
        path.write_bytes(b"example_id,level\n" + data)
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        if refusal is None:
            check_answers(answers)


# -- levels .npy / .pt ----------------------------------------------------------------------------------
NUMERIC = st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.boolean_dtypes(), hnp.complex_number_dtypes(),
                    hnp.unsigned_integer_dtypes())
ANY_DTYPE = st.one_of(NUMERIC, hnp.byte_string_dtypes(max_len=4), hnp.unicode_string_dtypes(max_len=4),
                      hnp.datetime64_dtypes(), hnp.timedelta64_dtypes())


@given(hnp.arrays(ANY_DTYPE, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)), st.booleans())
def test_any_levels_array_is_read_or_refused(array, fortran):
    with scratch() as folder:
        path = folder / "levels.npy"
        np.save(path, np.asfortranarray(array) if fortran else array)
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        if refusal is None:
            check_answers(answers)
            flat = np.asarray(array).reshape(-1) if array.ndim else array.reshape(1)
            assert len(answers) == len(flat)  # one level per example, none lost
            if array.dtype.kind == "f" and array.ndim == 1:
                assert all(answers[i] == round(float(v), 6) for i, v in enumerate(flat))


@given(hnp.arrays(np.float32, st.integers(1, 30), elements=st.floats(0, 1, width=32)), st.sampled_from([".npy", ".pt"]),
       st.data())
def test_damaged_levels_files_are_read_or_refused(levels, suffix, data):
    """A valid levels file, then truncated, bit-flipped or overwritten in places."""
    with scratch() as folder:
        path = folder / f"levels{suffix}"
        if suffix == ".npy":
            np.save(path, levels)
        else:
            torch.save({"levels": torch.from_numpy(levels)}, path)
        raw = bytearray(path.read_bytes())
        for _ in range(data.draw(st.integers(1, 4))):
            kind = data.draw(st.sampled_from(["flip", "truncate", "overwrite"]))
            if not raw:
                break
            at = data.draw(st.integers(0, len(raw) - 1))
            if kind == "flip":
                raw[at] ^= 1 << data.draw(st.integers(0, 7))
            elif kind == "truncate":
                del raw[at:]
            else:
                chunk = data.draw(st.binary(min_size=1, max_size=8))
                raw[at:at + len(chunk)] = chunk
        path.write_bytes(bytes(raw))
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        if refusal is None:
            check_answers(answers)


@given(st.one_of(
    st.none(), st.integers(), st.floats(), TEXT, st.lists(st.floats(), max_size=5),
    st.dictionaries(st.sampled_from(["levels", "x"]), st.one_of(st.lists(st.floats(), max_size=4), TEXT, st.none())),
))
def test_any_object_in_a_pt_file_is_read_or_refused(value):
    with scratch() as folder:
        path = folder / "levels.pt"
        torch.save(value, path)
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        if refusal is None:
            check_answers(answers)


# -- answers.sqlite ----------------------------------------------------------------------------------------
ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("answer"), IDS, LEVELS.filter(lambda v: v is None or 0 <= v <= 1)),
    st.tuples(st.just("undo"), IDS, st.none()),
), max_size=30)


@given(ACTIONS)
def test_a_project_database_loses_no_answer(actions):
    """Answers, skips and undos as a project records them: replayed, the last live answer of each."""
    live: dict[int, list] = {}
    with scratch() as folder:
        path = folder / "answers.sqlite"
        store = AnswerStore(path, create=True)
        try:
            for kind, example, level in actions:
                if kind == "answer":
                    store.record(AnswerRecord(example_id=example, level=level, grid=[0.0, 0.5, 1.0], noise_seed=0,
                                              time_taken_s=1.0, wall_time=0.0, round=1, step=0))
                    live.setdefault(example, []).append(level)
                elif store.undo(example, 0.0) is not None:
                    live[example].pop()
        finally:
            store.close()
        expected = {}
        for kind, example, level in actions:  # the order in which examples were last answered
            if kind == "answer" and live.get(example):
                expected[example] = live[example][-1]
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        assert refusal is None, refusal
        check_answers(answers)
        assert answers == {e: l for e, l in expected.items()}
        replay_all(path, answers)


SQL_VALUE = st.one_of(st.none(), st.integers(min_value=-2**63, max_value=2**63 - 1), st.floats(), TEXT,
                      st.binary(max_size=6))


@given(st.lists(st.tuples(SQL_VALUE, SQL_VALUE, SQL_VALUE, SQL_VALUE), max_size=10), st.booleans())
def test_any_values_in_an_answers_table_are_read_or_refused(rows, typed):
    """A database edited by hand or by another tool: any value in any column."""
    with scratch() as folder:
        path = folder / "answers.sqlite"
        db = sqlite3.connect(path)
        kinds = ("INTEGER", "REAL", "INTEGER", "INTEGER") if typed else ("", "", "", "")
        db.execute(f"CREATE TABLE answers (id INTEGER PRIMARY KEY, example_id {kinds[0]}, level {kinds[1]}, "
                   f"undone {kinds[2]}, round {kinds[3]})")
        db.executemany("INSERT INTO answers (example_id, level, undone, round) VALUES (?, ?, ?, ?)", rows)
        db.commit()
        db.close()
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        if refusal is None:
            check_answers(answers)


@given(ACTIONS.filter(bool), st.data())
def test_a_damaged_database_is_read_or_refused(actions, data):
    with scratch() as folder:
        path = folder / "answers.sqlite"
        store = AnswerStore(path, create=True)
        for kind, example, level in actions:
            if kind == "answer":
                store.record(AnswerRecord(example_id=example, level=level, grid=[0.0, 1.0], noise_seed=0,
                                          time_taken_s=1.0, wall_time=0.0, round=1, step=0))
        store.close()
        raw = bytearray(path.read_bytes())
        for _ in range(data.draw(st.integers(1, 6))):
            at = data.draw(st.integers(0, len(raw) - 1))
            if data.draw(st.booleans()):
                raw[at] ^= 1 << data.draw(st.integers(0, 7))
            else:
                del raw[at:]
                if not raw:
                    break
        path.write_bytes(bytes(raw))
        answers, refusal = read_or_refuse(lambda: load_answers(path), path)
        if refusal is None:
            check_answers(answers)
