"""The results table: mean ± std over several seeds, the value alone for one seed (a spread
of 0.00 would read as measured)."""

from app.engine.report import markdown_table, summarise, text_table
from app.engine.result import RunResult


def result(seed: int, clean: float) -> RunResult:
    return RunResult(method="cat", seed=seed, clean=clean, gaussian=clean - 20, all=None, per_corruption={},
                     curve_levels=[0.0], curve_accuracy=[clean], queries_used=0, budget=0, epochs_done=1,
                     stopped_early=False, seconds=1.0, device="cpu")


def test_one_seed_prints_the_value_alone():
    summary = summarise({"cat": [result(0, 81.234)]})
    table = text_table(summary)
    assert "81.23" in table and "±" not in table and "n = 1" in table
    assert "missing" in table  # All was not measured: missing, never a number
    assert "±" not in markdown_table(summary)


def test_several_seeds_print_mean_and_spread():
    table = text_table(summarise({"cat": [result(0, 80.0), result(1, 82.0)]}))
    assert "81.00 ± 1.41" in table and "over seeds [0, 1]" in table


def test_accuracy_by_answers_keeps_one_point_per_count_after_an_undo():
    """Undo lowers the answer count and redo raises it again: the exported plot shows one point per
    count (the latest evaluation), in order, instead of a line scribbling back and forth."""
    from types import SimpleNamespace

    from app.engine.project.report import by_answers

    history = [SimpleNamespace(answers=a, clean=c, gaussian=None) for a, c in
               ((0, 50.0), (5, 60.0), (10, 62.0), (9, 61.0), (10, 63.0))]
    assert by_answers(history, "clean") == [(0, 50.0), (5, 60.0), (9, 61.0), (10, 63.0)]
    assert by_answers(history, "gaussian") == []
