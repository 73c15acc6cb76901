"""The Qt binding under the window: a release that leaks references to None (PySide6 6.12.0 on
CPython 3.11, docs/gui.md "Known bad Qt releases") aborts the interpreter minutes into an expert's
session. These tests fail on such a release; the soak test runs a whole answering session with
thousands of repaints in a separate process, so an abort fails the test instead of pytest."""

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("PySide6")

from app.gui.binding import PROBE_CALLS, check_binding, none_is_immortal, none_refs_lost, probe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
immortal = pytest.mark.skipif(none_is_immortal(), reason="None is immortal from Python 3.12: the leak cannot crash")


@immortal
def test_void_qt_calls_keep_none_alive(qapp):
    lost = probe()
    assert lost < 0.05 * 2 * PROBE_CALLS, f"{2 * PROBE_CALLS} void Qt calls lost {lost} references to None"
    check_binding()  # the window opens


@immortal
def test_the_launch_check_refuses_a_leaking_binding(monkeypatch):
    """What check_binding() says when the probe sees the leak (a Python stand-in that drops
    one reference to None per call, as 6.12.0 does inside Qt)."""
    import ctypes

    decref = ctypes.pythonapi.Py_DecRef
    decref.argtypes = [ctypes.py_object]
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    # lend None the references the stand-in will take, so the interpreter never runs short
    for _ in range(2 * PROBE_CALLS):
        incref(None)
    monkeypatch.setattr("app.gui.binding.probe", lambda: none_refs_lost([lambda: decref(None)] * 2))
    from app.errors import AQPLError

    with pytest.raises(AQPLError, match=r"loses a reference to None .*pip install 'PySide6-Essentials>=6.6,<6.12'"):
        check_binding()


@immortal
def test_repainting_the_window_keeps_none_alive(qtbot, tmp_path, monkeypatch, small):
    """The window mid-session (plots, candidate tiles, status bar): 300 full repaints, each
    hundreds of Qt calls. On a leaking binding None loses hundreds of references a frame."""
    import sys as _sys

    from app.gui.main_window import MainWindow
    from app.gui.prepare import SessionRequest
    from app.gui.settings_store import SettingsStore

    monkeypatch.setenv("AQPL_LOG_DIR", str(tmp_path / "logs"))
    window = MainWindow(SettingsStore(tmp_path / "gui.ini"), project_root=tmp_path / "projects")
    window.confirm = lambda question: True
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    overrides = dict(epochs=2, batch_size=100, budget="8", queries_per_round=4, eval_every=1, eval_subset=200,
                     mode="synchronous")
    session = window.start_session(SessionRequest(dataset=small, load_suite=False, overrides=overrides))
    qtbot.waitUntil(lambda: window.panel.queue.current is not None, timeout=60_000)  # training waits for answers
    window.plots.redraw_dirty()
    frames, lost = 0, 0
    before = _sys.getrefcount(None)
    while frames < 300 and lost < 5000:  # stop well before a leaking binding could reach zero
        window.repaint()
        frames += 1
        lost = before - _sys.getrefcount(None)
    session.cancel()
    qtbot.waitUntil(lambda: not session.active, timeout=60_000)
    assert lost < frames, f"{frames} repaints lost {lost} references to None"


def run_soak(tmp_path, seconds: float, answer_ms: int) -> dict:
    out = tmp_path / "soak.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "soak_driver.py"), "--seconds", str(seconds), "--answer-ms", str(answer_ms),
         "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=seconds + 600,
    )
    assert proc.returncode == 0, f"the session died (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(out.read_text())


def check_soak(soak: dict, min_answers: int) -> list[dict]:
    samples = soak["samples"]
    answers = samples[-1]["answers"]
    assert soak["frames"] >= 1000, f"only {soak['frames']} repaints"
    assert answers >= min_answers, f"only {answers} answers"
    assert soak["answers_in_project"] == answers  # every answer the bot gave is in answers.sqlite
    if not none_is_immortal():
        first, low = samples[0]["none_refs"], min(s["none_refs"] for s in samples)
        assert first - low < soak["frames"], f"None lost {first - low} references over {soak['frames']} repaints"
    return samples


def test_a_minute_of_answering_and_repainting(tmp_path):
    """CI's soak: a minute of the GUI's default session, the simulated expert answering one query
    a second through the panel, a full repaint every 10 ms. 6.12.0 dies in about 20 s of this."""
    soak = run_soak(tmp_path, seconds=60, answer_ms=1000)
    check_soak(soak, min_answers=25)


@pytest.mark.slow
def test_an_hour_of_answering_and_repainting(tmp_path):
    """The long soak (issue: an hour-long session): no abort, None's count steady, and resident
    memory, file handles and threads flat after the first ten minutes."""
    soak = run_soak(tmp_path, seconds=3600, answer_ms=6000)
    samples = check_soak(soak, min_answers=400)
    settled = [s for s in samples if s["t"] >= 600]
    base = settled[0]
    peak_rss = max(s["rss_mib"] for s in settled)
    assert peak_rss <= 1.05 * base["rss_mib"], f"resident memory grew from {base['rss_mib']} to {peak_rss} MiB"
    assert max(s["open_files"] for s in settled) <= base["open_files"] + 2
    assert max(s["threads"] for s in settled) <= base["threads"] + 2
