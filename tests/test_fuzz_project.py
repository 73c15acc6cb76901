"""Fuzzing what opening a project reads: settings.toml (hand-editable) and aqpl-project.json.
Property (tests/fuzz_support.py): the project opens with settings every run can use (validated,
written back unchanged) or is refused in one line naming the file; answers already recorded are
never touched by a refusal."""

import pytest

pytest.importorskip("hypothesis", reason="the fuzz suite needs Hypothesis: pip install -e '.[test]'")

import json
import math
import shutil

from hypothesis import given
from hypothesis import strategies as st

from app.engine.events import AnswerRecord
from app.engine.oracle.replay import load_answers
from app.engine.project import Project
from app.engine.project.settings_file import dumps, read_settings
from app.engine.settings import defaults_for
from tests.fuzz_support import check_settings, mutate, read_or_refuse, scratch

BASE = defaults_for("gray", device="cpu", epochs=2, method="aqpl-gnt", budget="20")
NAMES = [name for name in BASE.to_dict()]

TOML_VALUE = st.one_of(
    st.integers(min_value=-2**63, max_value=2**63 - 1).map(str),
    st.floats().map(lambda v: "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(max_size=12).map(json.dumps),
    st.lists(st.floats(-1, 2, allow_nan=False).map(repr), max_size=5).map(lambda v: "[" + ", ".join(v) + "]"),
    st.sampled_from(['"5%"', '"150%"', '"-1"', '"1e9"', '"inf%"', '"%"', '""', "[]", "{}", "{a = 1}", "1979-05-27",
                     '"imagefolder"', '"mnist"', '"cifar10"', '"none"', '"neighbours"', '"cuda"', '"resnet18"', "0", "-1"]),
)


@st.composite
def settings_texts(draw):
    """A project's settings.toml with some lines edited, added or removed, or any text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=300))
    lines = dumps(BASE).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["edit", "edit", "edit", "add", "remove", "duplicate"]))
        if kind == "edit":
            name = draw(st.sampled_from(NAMES))
            lines = [line for line in lines if not line.startswith(f"{name} =")] + [f"{name} = {draw(TOML_VALUE)}"]
        elif kind == "add":
            lines.append(f"{draw(st.from_regex(r'[a-z_]{1,12}', fullmatch=True))} = {draw(TOML_VALUE)}")
        elif kind == "remove" and lines:
            del lines[draw(st.integers(0, len(lines) - 1))]
        elif lines:
            lines.append(lines[draw(st.integers(0, len(lines) - 1))])
    return "\n".join(lines) + "\n"


@given(settings_texts())
def test_any_settings_file_is_read_or_refused(text):
    with scratch() as folder:
        path = folder / "settings.toml"
        path.write_text(text, encoding="utf-8")
        settings, refusal = read_or_refuse(lambda: read_settings(path), path)
        if refusal is None:
            check_settings(settings)
            path.write_text(dumps(settings), encoding="utf-8")  # what a project writes back
            again, refusal = read_or_refuse(lambda: read_settings(path), path)
            assert refusal is None and again == settings, refusal


@given(st.binary(max_size=300))
def test_any_bytes_as_a_settings_file_are_read_or_refused(raw):
    with scratch() as folder:
        path = folder / "settings.toml"
        path.write_bytes(raw)
        settings, refusal = read_or_refuse(lambda: read_settings(path), path)
        if refusal is None:
            check_settings(settings)


MARKERS = st.one_of(
    st.binary(max_size=80),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                 max_leaves=6).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"format": st.one_of(st.integers(-2, 3), st.floats(), st.text(max_size=3), st.none(),
                                                st.booleans(), st.integers(min_value=2**64))},
                          optional={"app_version": st.text(max_size=5)}).map(lambda v: json.dumps(v).encode()),
)


@given(MARKERS, st.one_of(st.none(), settings_texts()), st.data())
def test_any_project_files_open_or_are_refused_and_answers_stay(marker, settings_text, data):
    """A project whose marker and settings were damaged or edited: it opens, or the refusal
    names the file; either way the recorded answers are all still there."""
    with scratch() as folder:
        path = folder / "p"
        with Project.create(path, BASE) as project:
            for example in range(3):
                project.store.record_answer(AnswerRecord(example_id=example, level=0.3, grid=[0.0, 0.3], noise_seed=0,
                                                         time_taken_s=1.0, wall_time=0.0, round=1, step=0))
        if data.draw(st.booleans(), label="damage the marker"):
            # the real marker holds the creation time: a fixed one, so that the same draws damage it the same way
            written = json.dumps({"format": 1, "app": "aqpl-studio", "app_version": "0.1.0", "created": 0.0}).encode()
            (path / "aqpl-project.json").write_bytes(marker if data.draw(st.booleans()) else mutate(written, data))
        if settings_text is not None:
            (path / "settings.toml").write_text(settings_text, encoding="utf-8")
        project, refusal = read_or_refuse(lambda: Project.open(path), path)
        if refusal is None:
            check_settings(project.settings)
            project.close()
        assert load_answers(path / "answers.sqlite") == {0: 0.3, 1: 0.3, 2: 0.3}  # no answer lost
        shutil.rmtree(path)
