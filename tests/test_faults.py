"""Bad input and faults around a project: each one gives a one-line message that names the
problem and the fix, and loses nothing (docs/projects.md →
"What was tried → what the user sees")."""

import errno
import json
import sqlite3
import subprocess
import sys
import time

import pytest
import torch

from app.engine.data import Dataset
from app.errors import AQPLError, DatasetError, SettingsError
from app.engine.project import DiskFullError, Project, ProjectError, ProjectLockedError, ReadOnlyError
from app.engine.project import answers as answers_module
from app.engine.project import checkpoints
from tests.helpers import SHORT_RUN, Warnings, answer_record, fill_disk, one_line, read_only, settings


@pytest.fixture
def trained_project(tmp_path, tiny):
    """A project with two epoch checkpoints and answers from the replay oracle."""
    from app.engine.oracle import ReplayOracle

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.save({"levels": torch.full((len(tiny.train_x),), 0.4)}, tmp_path / "levels.pt")
    with Project.create(tmp_path / "p", settings(SHORT_RUN, epochs=3)) as project:
        project.make_trainer(tiny, oracle=ReplayOracle(tmp_path / "levels.pt")).run()
    torch.set_num_threads(threads)
    return tmp_path / "p"


# -- not a project, or not this version's ------------------------------------------------------
def test_missing_folder(tmp_path):
    with pytest.raises(ProjectError) as error:
        Project.open(tmp_path / "nowhere")
    assert "no project at" in one_line(error.value) and "give a new folder to create one" in str(error.value)


def test_a_file_instead_of_a_folder(tmp_path):
    (tmp_path / "answers.csv").write_text("example_id,level\n")
    with pytest.raises(ProjectError, match="is a file, not a project folder"):
        Project.open(tmp_path / "answers.csv")


def test_a_folder_that_is_not_a_project(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(ProjectError) as error:
        Project.open(tmp_path / "photos")
    assert "is not an AQPL Studio project (no aqpl-project.json)" in one_line(error.value)


def test_a_project_written_by_a_newer_version(tmp_path):
    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    (tmp_path / "p" / "aqpl-project.json").write_text(json.dumps({"format": 2, "app_version": "3.0.0"}))
    with pytest.raises(ProjectError) as error:
        Project.open(tmp_path / "p")
    assert "written by a newer AQPL Studio (3.0.0, project format 2" in one_line(error.value)
    assert "update AQPL Studio" in str(error.value)


def test_an_answers_database_written_by_a_newer_version(tmp_path):
    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    db = sqlite3.connect(tmp_path / "p" / "answers.sqlite")
    db.execute("PRAGMA user_version = 2")
    db.close()
    with pytest.raises(ProjectError, match="newer AQPL Studio .*answers format 2.*update AQPL Studio"):
        Project.open(tmp_path / "p")


def test_a_damaged_marker(tmp_path):
    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    (tmp_path / "p" / "aqpl-project.json").write_text("{not json")
    with pytest.raises(ProjectError, match=r"aqpl-project.json is damaged: restore it"):
        Project.open(tmp_path / "p")


def test_a_damaged_or_missing_answers_database(tmp_path):
    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / "p" / f"answers.sqlite{suffix}").unlink(missing_ok=True)
    with pytest.raises(ProjectError, match="answers.sqlite is missing: .*restore the file from a backup"):
        Project.open(tmp_path / "p")
    (tmp_path / "p" / "answers.sqlite").write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(ProjectError) as error:
        Project.open(tmp_path / "p")
    assert "answers.sqlite is damaged" in one_line(error.value) and "restore the project folder from a backup" in str(error.value)


# -- read-only and full ----------------------------------------------------------------------------
def test_a_read_only_project_folder(tmp_path):
    with Project.create(tmp_path / "p", settings(SHORT_RUN)) as project:
        project.store.record_answer(answer_record(4))
    with read_only(tmp_path / "p"):
        with pytest.raises(ReadOnlyError) as error:
            Project.open(tmp_path / "p")
        assert "is read-only" in one_line(error.value) and "copy the folder to a writable place" in str(error.value)
    with Project.open(tmp_path / "p") as project:  # nothing was lost
        assert [a["example_id"] for a in project.answers()] == [4]


def test_a_full_disk_while_answering_keeps_every_saved_answer(tmp_path):
    """SQLite reports a full disk as SQLITE_FULL whatever the cause; a page limit makes it happen
    on any machine (the tmpfs test below fills a real file system)."""
    with Project.create(tmp_path / "p", settings(SHORT_RUN)) as project:
        db = project.store.answers._db
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 2}")
        saved = []
        with pytest.raises(DiskFullError) as error:
            for example in range(100_000):
                project.store.record_answer(answer_record(example))
                saved.append(example)
        assert "is full, could not save the answer for example" in one_line(error.value)
        assert "free some space and try again" in str(error.value)
        db.execute("PRAGMA max_page_count = 1000000")  # space freed
        project.store.record_answer(answer_record(999_999))
    with Project.open(tmp_path / "p") as project:
        assert [a["example_id"] for a in project.answers()] == saved + [999_999]


def test_a_full_disk_while_saving_a_checkpoint_keeps_the_previous_one(trained_project, monkeypatch):
    before = {p.name: p.read_bytes() for p in checkpoints.list_checkpoints(trained_project / "checkpoints")}

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    with Project.open(trained_project) as project:
        state = project.latest_checkpoint()["state"]
        monkeypatch.setattr(checkpoints.os, "fsync", full)
        with pytest.raises(DiskFullError) as error:
            project.store.save_checkpoint(state)
        monkeypatch.undo()
    assert "is full, could not save the checkpoint of epoch 3" in one_line(error.value)
    after = {p.name: p.read_bytes() for p in (trained_project / "checkpoints").iterdir()}
    assert after == before  # no temporary file left, the old checkpoints untouched


def test_a_really_full_disk(tiny_disk, tiny):
    from app.engine.trainer import Trainer

    project = Project.create(tiny_disk / "p", settings(SHORT_RUN))
    trainer = Trainer(settings(SHORT_RUN), tiny)
    project.store.save_checkpoint(trainer.state_dict())
    filler = tiny_disk / "filler"
    fill_disk(filler)
    saved = []
    with pytest.raises(DiskFullError):
        for example in range(100_000):
            project.store.record_answer(answer_record(example))
            saved.append(example)
    trainer.epoch = 1
    with pytest.raises(DiskFullError) as error:
        project.store.save_checkpoint(trainer.state_dict())
    assert "is full, could not save the checkpoint of epoch 1: free some space" in one_line(error.value)
    filler.unlink()
    project.store.record_answer(answer_record(123_456))
    project.close()
    with Project.open(tiny_disk / "p") as project:
        assert [a["example_id"] for a in project.answers()] == saved + [123_456]
        assert project.latest_checkpoint()["state"]["epoch"] == 0


# -- checkpoints -------------------------------------------------------------------------------
def _newest(project_dir):
    return checkpoints.list_checkpoints(project_dir / "checkpoints")[0]


@pytest.mark.parametrize("damage", ["truncated", "bit flip", "empty", "not a checkpoint"])
def test_a_damaged_checkpoint_falls_back_to_the_previous_one(trained_project, tiny, damage):
    newest = _newest(trained_project)
    data = newest.read_bytes()
    if damage == "truncated":
        newest.write_bytes(data[: len(data) // 3])
    elif damage == "bit flip":
        newest.write_bytes(data[:5000] + bytes([data[5000] ^ 1]) + data[5001:])
    elif damage == "empty":
        newest.write_bytes(b"")
    else:
        newest.write_bytes(b"PK\x03\x04 a zip file someone saved here")
    events = Warnings()
    with Project.open(trained_project) as project:
        trainer = project.make_trainer(tiny, callbacks=events)
        answers = {a["example_id"] for a in project.answers()}
    assert trainer.epoch == 2  # from epoch-0002 instead of epoch-0003
    assert len(events.messages) == 1 and "epoch-0003.ckpt is" in events.messages[0]
    assert "resuming from the previous one" in events.messages[0]
    assert set(trainer.book.answered) == answers  # every answer is back in the level table
    assert (trainer.table.level[list(answers)] == 0.4).all()
    assert (trainer_dir := trained_project / "checkpoints" / "epoch-0003.ckpt.corrupt").exists(), trainer_dir


def test_every_checkpoint_damaged_starts_over_with_all_answers(trained_project, tiny):
    for path in checkpoints.list_checkpoints(trained_project / "checkpoints"):
        path.write_bytes(path.read_bytes()[:100])
    events = Warnings()
    with Project.open(trained_project) as project:
        trainer = project.make_trainer(tiny, callbacks=events)
        answers = {a["example_id"] for a in project.answers()}
        assert trainer.epoch == 0 and len(events.messages) == 3
        # Synchronous mode: the answers wait for their rounds; the run applies every one.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        trainer.run()
        torch.set_num_threads(threads)
        assert set(trainer.book.answered) == answers
        assert len(project.answers()) == len(answers)  # handed back, not recorded twice


def test_a_checkpoint_that_does_not_fit_edited_settings(trained_project, tiny):
    path = trained_project / "settings.toml"
    path.write_text(path.read_text().replace('model = "small-cnn"', 'model = "small-cnn-wide"'))
    with Project.open(trained_project) as project:
        with pytest.raises(ProjectError) as error:
            project.make_trainer(tiny)
    assert "does not fit these settings" in one_line(error.value) and "undo the edits to" in str(error.value)


# -- locks ---------------------------------------------------------------------------------------
def test_a_locked_database_is_waited_for_then_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(answers_module, "BUSY_TIMEOUT_S", 0.3)
    project = Project.create(tmp_path / "p", settings(SHORT_RUN))
    project.store.record_answer(answer_record(1))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"db = sqlite3.connect(r'{tmp_path / 'p' / 'answers.sqlite'}', isolation_level=None)\n"
         "db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        with pytest.raises(ProjectLockedError) as error:
            project.store.record_answer(answer_record(2))
        assert time.perf_counter() - started >= 0.25  # it waited before giving up
        assert "is locked by another program" in one_line(error.value) and "then try again" in str(error.value)
    finally:
        holder.communicate("\n", timeout=10)
    project.store.record_answer(answer_record(2))  # the other program is gone: the retry works
    assert [a["example_id"] for a in project.answers()] == [1, 2]
    project.close()


# -- settings.toml -----------------------------------------------------------------------------
@pytest.mark.parametrize("line, expected", [
    ('budget = "-5"', "budget '-5' is negative"),
    ("grid = []", "the candidate grid is empty"),
    ("grid = [0.0, 0.3, 0.2]", "is not strictly increasing: sort it"),
    ("grid = [0.0, 0.5, 1.5]", "has levels outside [0, 1]"),
    ("epochs = 0", "epochs is 0: it must be at least 1"),
    ("method = \"aqpl\"", "unknown method 'aqpl'"),
    ("colour = \"red\"", "unknown setting(s) colour"),
    ("epochs = ten", "is not valid TOML"),
    ('epochs = "ten"', "wrong type"),
])
def test_invalid_settings_in_settings_toml(tmp_path, line, expected):
    Project.create(tmp_path / "p", settings(SHORT_RUN)).close()
    path = tmp_path / "p" / "settings.toml"
    key = line.split(" = ")[0]
    kept = [l for l in path.read_text().splitlines() if not l.startswith(f"{key} = ")]
    path.write_text("\n".join(kept + [line]) + "\n")
    with pytest.raises(SettingsError) as error:
        Project.open(tmp_path / "p")
    message = one_line(error.value)
    assert message.startswith(str(path)) and expected in message
    fixed = "\n".join(kept) + "\n"  # the user fixes the line: the project opens with its answers
    path.write_text(fixed if key != "colour" else fixed)
    Project.open(tmp_path / "p").close()


def test_invalid_settings_are_refused_before_a_project_is_created(tmp_path):
    with pytest.raises(SettingsError, match="budget '-3' is negative"):
        Project.create(tmp_path / "p", settings(SHORT_RUN, budget="-3"))
    assert not (tmp_path / "p").exists()


# -- the dataset -----------------------------------------------------------------------------
def test_a_missing_dataset_names_the_project_and_the_fix(tmp_path):
    gone = tmp_path / "mnist-files"
    with Project.create(tmp_path / "p", settings(SHORT_RUN, dataset="mnist", data_dir=str(gone))) as project:
        with pytest.raises(DatasetError) as error:
            project.load_dataset()
    message = one_line(error.value)
    assert str(gone) in message and "does not exist" in message and "edit dataset / data_dir in" in message
    assert str(tmp_path / "p" / "settings.toml") in message


def test_the_embedded_dataset_loads_through_the_project(tmp_path):
    with Project.create(tmp_path / "p", settings(SHORT_RUN)) as project:
        assert len(project.load_dataset().train_x) == 6000


def test_all_errors_are_aqpl_errors():
    for error in (ProjectError, ProjectLockedError, DiskFullError, ReadOnlyError):
        assert issubclass(error, AQPLError)
