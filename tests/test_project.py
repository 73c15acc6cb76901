"""The Project API: layout, settings round trip, the answers store, metrics, results, resume in
one process, export and the replay of recorded answers."""

import csv
import sqlite3
import threading
import tomllib

import pytest
import torch

from app.engine.data import Dataset
from app.errors import AQPLError
from app.engine.events import Callbacks, Metrics
from app.engine.levels import Source
from app.engine.oracle import ReplayOracle
from app.engine.project import Project, read_answers
from tests.helpers import GRID, answer_record, settings

# This file's runs, settings(RUN, ...): three short epochs on `tiny` (conftest), the one source's other defaults.
RUN = dict(epochs=3, batch_size=64, budget="30", warmup_epochs=1, device="cpu", eval_subset=100)


class Recorder(Callbacks):
    def __init__(self):
        self.queries, self.warnings, self.progress = [], [], []

    def on_queries(self, queries):
        self.queries.extend(queries)

    def on_warning(self, message):
        self.warnings.append(message)

    def on_progress(self, progress):
        self.progress.append(progress)



@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny):
    """A finished 3-epoch AQPL-CAT project answered by a replay oracle (shared by the export tests)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("trained")
    levels = torch.tensor(GRID)[torch.randint(0, 11, (300,), generator=torch.Generator().manual_seed(3))]
    torch.save({"levels": levels}, root / "levels.pt")
    with Project.create(root / "project", settings(RUN)) as project:
        trainer = project.make_trainer(tiny, oracle=ReplayOracle(root / "levels.pt"))
        result = trainer.run()
        project.save_result(result)
        table = trainer.table.state_dict()
        model_state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    torch.set_num_threads(threads)
    return root / "project", table, model_state, result


# -- layout and settings -------------------------------------------------------------------
def test_create_writes_a_readable_project_folder(tmp_path):
    s = settings(RUN, data_dir='C:\\data\\"quoted" ünïcode', cat_smoothing=1e-05, lr=0.05)
    with Project.create(tmp_path / "p", s) as project:
        assert project.path == tmp_path / "p"
        for name in ("aqpl-project.json", "settings.toml", "answers.sqlite", "checkpoints"):
            assert (project.path / name).exists(), name
    with open(tmp_path / "p" / "settings.toml", "rb") as f:
        stored = tomllib.load(f)
    assert stored == {k: v for k, v in s.to_dict().items() if v is not None}
    with Project.open(tmp_path / "p") as project:
        assert project.settings == s
    assert sqlite3.connect(tmp_path / "p" / "answers.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_create_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("x")
    with pytest.raises(AQPLError, match="exists and is not empty"):
        Project.create(tmp_path / "busy", settings(RUN))
    assert (tmp_path / "busy" / "thesis.tex").read_text() == "x"
    (tmp_path / "p").mkdir()  # an empty folder (e.g. made by a file dialog) is fine
    Project.create(tmp_path / "p", settings(RUN)).close()
    with pytest.raises(AQPLError, match="already a project: open it"):
        Project.create(tmp_path / "p", settings(RUN))


def test_open_or_create_keeps_the_stored_settings(tmp_path):
    with Project.open_or_create(tmp_path / "p", settings(RUN, epochs=3)) as project:
        assert project.settings.epochs == 3 and project.settings_differences == {}
    with Project.open_or_create(tmp_path / "p", settings(RUN, epochs=7, seed=4, device="auto")) as project:
        assert project.settings.epochs == 3 and project.settings.seed == 0
        assert project.settings_differences == {"epochs": (3, 7), "seed": (0, 4)}
        assert project.settings.device == "auto"  # the machine's choice, not the experiment's


def test_a_finished_baseline_is_reused_when_only_settings_it_never_reads_change(tmp_path):
    with Project.open_or_create(tmp_path / "std", settings(RUN, method="standard", warmup_epochs=2)):
        pass
    with Project.open_or_create(tmp_path / "std", settings(RUN, method="standard", warmup_epochs=1, gnt_sigma=0.3,
                                                          budget="1%")) as project:
        assert project.settings_differences == {}
    with Project.open_or_create(tmp_path / "std", settings(RUN, method="standard", epochs=9)) as project:
        assert "epochs" in project.settings_differences
    with Project.open_or_create(tmp_path / "aq", settings(RUN, method="aqpl-cat", warmup_epochs=2)):
        pass
    with Project.open_or_create(tmp_path / "aq", settings(RUN, method="aqpl-cat", warmup_epochs=1, gnt_sigma=0.3)) as project:
        assert project.settings_differences == {"warmup_epochs": (2, 1)}  # the rounds shape AQPL's result


def test_a_second_process_cannot_open_an_open_project(tmp_path):
    import subprocess
    import sys

    project = Project.create(tmp_path / "p", settings(RUN))
    code = "from app.engine.project import Project; Project.open(r'%s')" % (tmp_path / "p")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other.returncode != 0
    assert "is open in another AQPL Studio" in other.stderr and "close it there" in other.stderr
    project.close()
    Project.open(tmp_path / "p").close()  # free again once closed


# -- answers -------------------------------------------------------------------------------
def test_answers_skips_and_undos_are_stored_as_given(tmp_path):
    with Project.create(tmp_path / "p", settings(RUN)) as project:
        store = project.store
        store.record_answer(answer_record(5, 0.3, step=12, time_taken_s=1.5))
        store.record_answer(answer_record(9, None))
        store.record_answer(answer_record(5, 0.6))  # a second answer after ...
        store.record_undo(5)  # ... is the one undone
        store.record_undo(77)  # nothing to undo: no error, nothing changes
        live = project.answers()
        everything = project.answers(include_undone=True)
    assert [(a["example_id"], a["level"]) for a in live] == [(5, 0.3), (9, None)]
    assert [(a["example_id"], a["undone"]) for a in everything] == [(5, False), (9, False), (5, True)]
    first = live[0]
    assert first["grid"] == GRID and first["step"] == 12 and first["round"] == 1 and first["time_taken_s"] == 1.5
    assert first["source"] == "expert" and first["noise_seed"] == 0 and first["wall_time"] > 0
    assert read_answers(tmp_path / "p" / "answers.sqlite") == {5: 0.3, 9: None}


def test_answers_from_two_threads_are_all_kept(tmp_path):
    """The GUI thread and the training thread write at the same time."""
    with Project.create(tmp_path / "p", settings(RUN)) as project:
        def answer(offset):
            for i in range(150):
                project.store.record_answer(answer_record(offset + i, 0.1))

        threads = [threading.Thread(target=answer, args=(1000 * t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rows = project.answers()
    assert len(rows) == 600
    for t in range(4):
        mine = [r["example_id"] for r in rows if 1000 * t <= r["example_id"] < 1000 * (t + 1)]
        assert mine == sorted(mine) and len(mine) == 150


def test_the_answers_csv_replays_like_the_database(tmp_path):
    """A recorded session exported to CSV and the database replay the same answers."""
    with Project.create(tmp_path / "p", settings(RUN)) as project:
        for example, level in ((3, 0.2), (4, None), (5, 0.7), (3, 0.4)):
            project.store.record_answer(answer_record(example, level))
        project.store.record_undo(5)
        project.export(tmp_path / "out")
    from_db = read_answers(tmp_path / "p" / "answers.sqlite")
    assert from_db == {3: 0.4, 4: None}  # last answer wins; undone ones are left out
    assert ReplayOracle(tmp_path / "out" / "answers.csv").answers == from_db
    assert ReplayOracle(tmp_path / "p" / "answers.sqlite").answers == from_db


def test_read_answers_names_a_file_that_is_not_a_project_database(tmp_path):
    (tmp_path / "notes.sqlite").write_bytes(b"just text, not a database" * 100)
    with pytest.raises(AQPLError, match="damaged"):
        read_answers(tmp_path / "notes.sqlite")
    with pytest.raises(AQPLError, match="not found"):
        read_answers(tmp_path / "missing.sqlite")


# -- metrics and results --------------------------------------------------------------------
def _metrics(epoch, clean, final=False):
    return Metrics(epoch=epoch, step=epoch * 10, answers=epoch, clean=clean, gaussian=None, all=None,
                   curve_levels=[0.0, 0.5], curve_accuracy=[clean, clean / 2], loss=1.0 / epoch, final=final)


def test_metrics_history_skips_torn_lines_and_keeps_the_latest_copy(tmp_path):
    with Project.create(tmp_path / "p", settings(RUN)) as project:
        project.store.log_metrics(_metrics(1, 50.0))
        project.store.log_metrics(_metrics(2, 60.0))
        with open(project.path / "metrics.jsonl", "a") as f:
            f.write('{"epoch": 3, "step": 30, "ans')  # a crash in the middle of a line
        project.store.log_metrics(_metrics(2, 61.0))  # the resumed run evaluates epoch 2 again
        project.store.log_metrics(_metrics(3, 70.0, final=True))
        history = project.metrics_history()
    assert [(m.epoch, m.clean, m.final) for m in history] == [(1, 50.0, False), (2, 61.0, False), (3, 70.0, True)]


def test_result_is_stored_and_marks_the_project_finished(trained):
    path, _, _, result = trained
    with Project.open(path) as project:
        assert project.is_finished()
        assert project.load_result() == result
        history = project.metrics_history()
    assert history[-1].final and history[-1].clean == result.clean
    assert [m.epoch for m in history] == [1, 2, 3]


# -- resume in one process -----------------------------------------------------------------
def test_answers_given_after_the_last_checkpoint_are_applied_on_reopen(tmp_path, tiny, one_thread):
    """Continuous mode: the expert answers during epoch 2 and undoes an answer of epoch 1's
    queue; the program dies before epoch 2 ends (no checkpoint, nothing drained)."""
    s = settings(RUN, mode="continuous", epochs=4, budget="40", queries_per_round=10)
    events = Recorder()
    project = Project.create(tmp_path / "p", s)
    trainer = project.make_trainer(tiny, callbacks=events)
    steps = trainer.steps()
    while len(events.queries) < 10:
        next(steps)
    first = [q.example_id for q in events.queries[:10]]
    for example in first[:6]:
        trainer.submit_answer(example, 0.3)
    while trainer.epoch < 2:  # epoch 2's checkpoint holds those six answers
        next(steps)
    next(steps)
    trainer.submit_undo(first[0])  # after the checkpoint: undo one answer, answer two more
    trainer.submit_answer(first[6], 0.5)
    trainer.submit_skip(first[7])
    del steps, trainer  # the crash: nothing else reaches the disk
    project.close()

    events = Recorder()
    with Project.open(tmp_path / "p") as project:
        trainer = project.make_trainer(tiny, callbacks=events)
        assert trainer.epoch == 2
        assert set(trainer.book.answered) == set(first[1:7])
        assert trainer.book.answered[first[6]] == 0.5 and float(trainer.table.level[first[6]]) == pytest.approx(0.5)
        assert trainer.table.source[first[0]] != Source.EXPERT and first[0] in trainer.book.pending
        assert first[7] in trainer.book.skipped
        # The restored queue reaches the GUI with the first progress report of the resumed run.
        pending = set(trainer.book.pending)
        next(trainer.steps())
        assert first[0] in pending and {q.example_id for q in events.queries} == pending


def test_a_different_dataset_is_refused(tmp_path, tiny, trained):
    path = trained[0]
    other = Dataset(name="embedded", train_x=tiny.train_x.flip(0), train_y=tiny.train_y.flip(0),
                    test_x=tiny.test_x, test_y=tiny.test_y, classes=tiny.classes)
    with Project.open(path) as project:
        with pytest.raises(AQPLError, match="is not the one project .* was trained on"):
            project.make_trainer(other)


# -- export --------------------------------------------------------------------------------
def test_export_writes_levels_answers_models_and_report(tmp_path, trained, tiny):
    path, table, model_state, result = trained
    with Project.open(path) as project:
        warnings = []
        files = project.export(tmp_path / "out", on_warning=warnings.append)
    out = tmp_path / "out"
    assert warnings == []
    names = {f.name for f in files}
    assert {"levels.csv", "answers.csv", "model.pt2", "model.onnx", "report.md", "robustness.png", "levels.png"} <= names
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in files if f.suffix == ".png")

    with open(out / "levels.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300
    assert [float(r["level"]) for r in rows] == pytest.approx(table["level"].tolist())
    assert sum(r["source"] == "expert" for r in rows) == result.queries_used == 30
    assert rows[0]["class_name"] == tiny.classes[int(tiny.train_y[0])]

    from models import build

    model = build("small-cnn", 10, 1, 28)
    model.load_state_dict(model_state)
    model.eval()
    x = torch.rand(5, 1, 28, 28)
    expected = model(x).detach()
    program = torch.export.load(out / "model.pt2")
    assert torch.allclose(program.module()(x), expected, atol=1e-5)

    import onnx
    from onnx.reference import ReferenceEvaluator

    onnx.checker.check_model(onnx.load(out / "model.onnx"))
    got = ReferenceEvaluator(str(out / "model.onnx")).run(None, {"images": x.numpy()})[0]
    assert abs(got - expected.numpy()).max() < 1e-4

    report = (out / "report.md").read_text()
    assert f"| Clean | {result.clean:.2f} |" in report and "| Gaussian | missing |" in report
    assert "![Robustness curve](robustness.png)" in report and "30 given" in report


def test_an_onnx_failure_is_a_warning_not_a_crash(tmp_path, trained, monkeypatch):
    from app.engine.project import exports

    def refuse(*args, **kwargs):
        raise RuntimeError("Unsupported operator aten::frobnicate\nlong traceback follows")

    monkeypatch.setattr(exports, "export_onnx", refuse)
    with Project.open(trained[0]) as project:
        warnings = []
        files = project.export(tmp_path / "out", on_warning=warnings.append)
    assert warnings == ["ONNX export failed for this model (Unsupported operator aten::frobnicate): use model.pt2 (torch.export) instead"]
    assert not (tmp_path / "out" / "model.onnx").exists() and (tmp_path / "out" / "model.pt2").exists()
    assert "ONNX export failed" in (tmp_path / "out" / "report.md").read_text()
    assert len(files) >= 5


def test_export_before_the_first_checkpoint_exports_the_answers(tmp_path):
    with Project.create(tmp_path / "p", settings(RUN)) as project:
        project.store.record_answer(answer_record(1, 0.2))
        warnings = []
        files = project.export(tmp_path / "out", on_warning=warnings.append)
    assert [f.name for f in files][:2] == ["answers.csv", "report.md"]
    assert warnings == ["no checkpoint yet (train at least one epoch): levels and model were not exported"]


def test_a_creation_cut_short_leaves_nothing_behind(tmp_path):
    """A crash while creating leaves only a hidden staging folder; the next creation clears it."""
    abandoned = tmp_path / ".p.creating-4000000"  # above Linux's largest process id
    (abandoned / "checkpoints").mkdir(parents=True)
    Project.create(tmp_path / "p", settings(RUN)).close()
    assert not abandoned.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def _run_until_queries(steps, events, count):
    while len(events.queries) < count:
        next(steps)


def test_synchronous_round_cut_short_is_asked_again_without_the_answers_given(tmp_path, tiny, one_thread):
    """The expert answered 3 of round 2's queries when the program died (epoch 2's checkpoint
    not written yet). The resumed run asks round 2 again: the 3 answers are handed back, the
    expert sees only the other queries, and they are the ones an uninterrupted run asks."""
    s = settings(RUN, epochs=4, budget="30", queries_per_round=10)

    def answer_all(trainer, queries):
        for q in queries:
            trainer.submit_answer(q.example_id, 0.2)

    uninterrupted = Recorder()
    with Project.create(tmp_path / "a", s) as project:
        trainer = project.make_trainer(tiny, callbacks=uninterrupted)
        steps = trainer.steps()
        _run_until_queries(steps, uninterrupted, 10)
        answer_all(trainer, uninterrupted.queries[:10])
        _run_until_queries(steps, uninterrupted, 20)
        round_two = {q.example_id for q in uninterrupted.queries[10:20]}

    events = Recorder()
    project = Project.create(tmp_path / "b", s)
    trainer = project.make_trainer(tiny, callbacks=events)
    steps = trainer.steps()
    _run_until_queries(steps, events, 10)
    answer_all(trainer, events.queries[:10])
    _run_until_queries(steps, events, 20)
    given = events.queries[10:13]
    answer_all(trainer, given)
    del steps, trainer  # the crash
    project.close()

    events = Recorder()
    with Project.open(tmp_path / "b") as project:
        trainer = project.make_trainer(tiny, callbacks=events)
        assert trainer.epoch == 1 and trainer.book.used == 10
        steps = trainer.steps()
        _run_until_queries(steps, events, 7)
        asked = {q.example_id for q in events.queries}
        assert asked.isdisjoint(q.example_id for q in given) and len(asked) == 7
        assert asked | {q.example_id for q in given} == round_two
        answer_all(trainer, events.queries)
        _run_until_queries(steps, events, 17)  # round 3
        answer_all(trainer, events.queries[7:])
        for _ in steps:
            pass
        assert trainer.book.used == 30 and set(trainer.book.answered) >= round_two
        assert len(project.answers()) == 30  # the 3 handed-back answers were not stored again
