"""The main window: the query panel beside the live plots, the controls of the run, and the
project it belongs to. It wires a TrainingSession (worker thread) to the views; it does no
training and no slow work itself."""

from pathlib import Path

import platformdirs
from PySide6.QtCore import QRect, Qt, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QSplitter, QToolBar

from app.engine.device import describe, pick_device
from app.engine.events import Phase, Progress
from app.gui.background import BackgroundJob
from app.gui.help_dialog import HelpDialog
from app.gui.plots import PlotsPanel
from app.gui.prepare import PreparedSession, SessionRequest
from app.gui.query_panel import QueryPanel
from app.gui.session import TrainingSession
from app.gui.session_dialog import SessionDialog
from app.gui.settings_store import SettingsStore
from app.gui.status_bar import TrainingStatusBar
from app.gui.memory import HeapTrimmer
from app.gui.watch import WatchBot
from app.gui.worker import Outcome, RunState

APP_NAME = "AQPL Studio"
STATE_TEXT = {
    RunState.PREPARING: "preparing", RunState.RUNNING: "training", RunState.PAUSED: "paused",
    RunState.STOPPING: "stopping…", RunState.DONE: "done", RunState.STOPPED: "stopped early",
    RunState.CANCELLED: "cancelled", RunState.FAILED: "failed",
}


FINAL_EPOCHS_TEXT = "Training runs its final epochs, then evaluates: answers still count, no new queries come."
FRAME_MARGIN = 40  # title bar and borders the window manager adds around the geometry


def default_project_root() -> Path:
    return Path(platformdirs.user_data_dir("aqpl-studio")) / "projects"


def export_folder(project: Path) -> tuple[Path, bool]:
    """The folder Export suggests, and whether it was made now: the project's `export` folder,
    made if missing (a file dialog cannot choose a folder that does not exist); where it cannot
    be made, the project folder itself."""
    folder = project / "export"
    if folder.is_dir():
        return folder, False
    try:
        folder.mkdir(parents=True)
        return folder, True
    except OSError:
        return project, False


def default_geometry(available: QRect) -> QRect:
    """1500×900 where the screen has room, else the screen's available area less a margin
    for the window frame, centred: the window never opens larger than the screen."""
    width = min(1500, available.width() - FRAME_MARGIN)
    height = min(900, available.height() - FRAME_MARGIN)
    x = available.x() + (available.width() - width) // 2
    y = available.y() + (available.height() - height) // 2
    return QRect(x, y, width, height)


def clamp_geometry(geometry: QRect, available: QRect) -> QRect:
    """A remembered geometry (perhaps from a larger screen) shrunk and moved onto this one."""
    width = min(geometry.width(), available.width() - FRAME_MARGIN)
    height = min(geometry.height(), available.height() - FRAME_MARGIN)
    x = min(max(geometry.x(), available.x()), available.right() + 1 - width - FRAME_MARGIN // 2)
    y = min(max(geometry.y(), available.y()), available.bottom() + 1 - height - FRAME_MARGIN // 2)
    return QRect(max(x, available.x()), max(y, available.y()), width, height)


class MainWindow(QMainWindow):
    def __init__(self, store: SettingsStore | None = None, project_root: Path | None = None, icon: QIcon | None = None):
        super().__init__()
        self.store = store or SettingsStore()
        self.project_root = project_root or default_project_root()
        self.session: TrainingSession | None = None
        self.prepared: PreparedSession | None = None
        self.watch_bot: WatchBot | None = None
        self.last_project: str | None = None  # what Start (F5) resumes
        self.last_outcome: Outcome | None = None
        self.messages: list[str] = []  # warnings of this run, newest last
        self.error_boxes: list[QMessageBox] = []
        self.export_job: BackgroundJob | None = None
        self.export_box: QMessageBox | None = None  # "Exported … to …", with Open folder
        self._closing = False
        self.setWindowTitle(APP_NAME)
        if icon is not None:
            self.setWindowIcon(icon)

        self.panel = QueryPanel()
        self.plots = PlotsPanel()
        self.plots.on_drift = self._on_drift
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.panel)
        self.splitter.addWidget(self.plots)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        self.status = TrainingStatusBar()
        self.setStatusBar(self.status)
        self._make_actions()
        self.panel.predictions_toggled.connect(self._on_predictions_toggled)
        self.panel.failed.connect(self.show_error)
        self.panel.answers_changed.connect(self.status.set_answers)
        self._restore_layout()
        self._update_actions()
        device, _ = pick_device("auto")
        self.status.set_device(f"{describe(device)} (auto)")
        self.heap_trimmer = HeapTrimmer(self)  # long sessions: freed training memory goes back to the system

    # -- actions ------------------------------------------------------------------------------------
    def _action(self, text: str, shortcut, slot, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip or text} ({QKeySequence(shortcut).toString()})" if shortcut else tip or text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        self.new_action = self._action("New session…", "Ctrl+N", self.new_session)
        self.open_action = self._action("Open project…", "Ctrl+O", self.choose_project)
        self.export_action = self._action("Export…", "Ctrl+E", self.export_project, "Export levels, answers, model and report")
        self.quit_action = self._action("Quit", "Ctrl+Q", self.close)
        self.start_action = self._action("Start", "F5", self.start, "Start a session, or resume the project")
        self.pause_action = self._action("Pause", "F6", self.toggle_pause, "Pause or resume training at the next batch")
        self.stop_action = self._action("Stop early", "F7", self.stop_early, "Finish after this batch, evaluate and keep the model")
        self.finish_action = self._action("Finish", "F8", self.finish,
                                          "Continuous mode: stop extending training, run the final epochs and evaluate")
        self.cancel_action = self._action("Cancel", "Shift+F5", self.cancel, "Stop training without a final evaluation (answers are kept)")
        self.help_action = self._action("Keyboard shortcuts", "F1", self.show_help)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        training = menu.addMenu("&Training")
        for action in (self.start_action, self.pause_action, self.finish_action, self.stop_action, self.cancel_action):
            training.addAction(action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(self._action("About AQPL Studio", None, self.show_about))

        toolbar = QToolBar("Training")
        toolbar.setObjectName("training-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.setMovable(False)
        for action in (self.new_action, self.open_action, None, self.start_action, self.pause_action,
                       self.finish_action, self.stop_action, self.cancel_action, None, self.export_action, self.help_action):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)
        self.addToolBar(toolbar)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.store.recent_projects()
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_project(p))

    def _update_actions(self) -> None:
        state = self.session.state if self.session is not None else None
        active = self.session is not None and self.session.active
        self.new_action.setEnabled(not active)
        self.open_action.setEnabled(not active)
        self.recent_menu.setEnabled(not active)
        self.start_action.setEnabled(not active)
        self.pause_action.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        self.pause_action.setText("Resume" if state == RunState.PAUSED else "Pause")
        self.stop_action.setEnabled(state in (RunState.RUNNING, RunState.PAUSED))
        trainer = self.session.trainer if self.session is not None else None
        self.finish_action.setEnabled(state in (RunState.RUNNING, RunState.PAUSED) and trainer is not None and trainer.paced
                                      and not trainer.pace.finish_requested and not trainer.finishing)
        self.cancel_action.setEnabled(active and not self.session.worker.cancelled)
        self.export_action.setEnabled(not active and self.last_project is not None)

    # -- starting sessions ----------------------------------------------------------------------------
    def new_session(self, prefill: dict | None = None) -> SessionDialog | None:
        initial = {**self.store.last_session(), **(prefill or {})}
        dialog = SessionDialog(initial, self.project_root, self)
        if dialog.exec() != SessionDialog.DialogCode.Accepted or dialog.request is None:
            return None
        self.store.save_last_session(dialog.overrides())
        self.start_session(dialog.request)
        return dialog

    def choose_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open project", str(self.project_root))
        if folder:
            self.open_project(folder)

    def open_project(self, path: str, overrides: dict | None = None, watch: bool = False) -> None:
        """Open a project and resume it where it stopped (answers, levels, plots, queue)."""
        self.start_session(SessionRequest(overrides=overrides or {}, project=str(path), open_existing=True, watch=watch))

    def start(self) -> None:
        """F5: resume the last project when it did not finish, else a new session."""
        if self.session is not None and self.session.active:
            return
        if self.last_project and (self.last_outcome is None or self.last_outcome.status in (RunState.CANCELLED, RunState.FAILED)):
            self.open_project(self.last_project)
        else:
            self.new_session()

    def start_session(self, request: SessionRequest) -> TrainingSession | None:
        if self.session is not None and self.session.active:
            self.show_error("a session is running: stop or cancel it first")
            return None
        self._stop_watch_bot()
        if self.session is not None:
            self.session.deleteLater()  # its thread has ended; its signals are delivered
        self.prepared = None
        self.messages = []
        self.plots.reset()
        self.status.reset_answers()
        self.panel.finish(f"Preparing {request.describe()}…")
        session = TrainingSession(request, self)
        session.state_changed.connect(self._on_state)
        session.ready.connect(self._on_ready)
        session.progress.connect(self._on_progress)
        session.metrics.connect(self.plots.add_metrics)
        session.queries_ready.connect(self.panel.add_queries)
        session.levels_changed.connect(self.plots.set_levels)
        session.model_snapshot.connect(self.panel.set_model_state)
        session.warning.connect(self._on_warning)
        session.error.connect(self.show_error)
        session.finished.connect(self._on_finished)
        self.session = session
        session.set_predictions_wanted(self.panel.predictions_box.isChecked())
        session.start()
        self.status.project.setText(f"project: {request.project}" if request.project else "no project: answers are not saved")
        return session

    # -- run controls ------------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        if self.session is None:
            return
        if self.session.state == RunState.PAUSED:
            self.session.resume()
        else:
            self.session.pause()

    def stop_early(self) -> None:
        if self.session is not None:
            self.session.stop_early()

    def finish(self) -> None:
        """F8: the expert is done; training runs its final epochs (answers still count) and evaluates."""
        if self.session is not None and self.session.finish():
            self.statusBar().showMessage("finishing: the final epochs run, then the evaluation", 10_000)
        self._update_actions()

    def cancel(self) -> None:
        if self.session is not None:
            self.session.cancel()

    # -- from the session ------------------------------------------------------------------------------------
    @Slot(str)
    def _on_state(self, state: str) -> None:
        self.status.set_state(STATE_TEXT.get(state, state))
        self.panel.set_paused(state == RunState.PAUSED)  # a pause does not count in an answer's time
        if state == RunState.STOPPING and self.panel.accepting:
            self.panel.finish("Stopping training …")
        self._update_actions()

    @Slot(object)
    def _on_ready(self, prepared: PreparedSession) -> None:
        self.prepared = prepared
        trainer, settings = prepared.trainer, prepared.settings
        self.panel.attach(trainer, prepared.dataset, settings, trainer.book.budget, prepared.answered_before, prepared.undoable)
        self.plots.reset(by_epoch=not settings.uses_queries)
        self.plots.add_history(prepared.history)
        self.plots.redraw_dirty()
        gpu_missing = settings.device in ("cuda", "mps") and trainer.device.type == "cpu"
        self.status.set_device(describe(trainer.device), f"{settings.device} was requested but is not available: training runs on the CPU" if gpu_missing else None)
        if prepared.project is not None:
            self.last_project = prepared.project_path
            self.store.add_recent_project(prepared.project_path)
            self.status.project.setText(f"project: {prepared.project_path}")
            self.setWindowTitle(f"{Path(prepared.project_path).name} — {APP_NAME}")
        else:
            self.setWindowTitle(f"{settings.method} on {prepared.dataset.name} — {APP_NAME}")
        if prepared.oracle is not None:
            self.watch_bot = WatchBot(self.panel, prepared.oracle, parent=self)
        self.panel.setFocus()
        self._update_actions()

    @Slot(object)
    def _on_progress(self, progress) -> None:
        self.status.set_progress(progress)
        if isinstance(progress, Progress):
            self.plots.add_progress(progress)
            if progress.phase == Phase.EVAL and progress.final and self.panel.accepting:
                # Answers from now on could no longer change training: stop asking.
                self.panel.finish("Training is done; the final evaluation is running …")
            elif progress.pace == "finishing" and self.panel.accepting and self.panel.empty_text != FINAL_EPOCHS_TEXT:
                self.panel.set_empty_text(FINAL_EPOCHS_TEXT)
            if progress.pace == "finishing" and self.finish_action.isEnabled():
                self._update_actions()  # idle or budget spent: nothing left to finish

    def _on_drift(self, sentence: str | None) -> None:
        """Levels drift above what the expert still recognises: say so in words, in the status bar
        and in the histogram (its title and tooltip), with what to do."""
        if sentence:
            # the status bar shows the short form (its right part holds the progress); the whole
            # sentence is under the plots and in the state's tooltip
            self.messages.append(f"{sentence} (AQPL-GNT, or AQPL-CAT with spread answers, keeps levels under your answers)")
            self.status.state.setToolTip("\n".join(self.messages[-10:]))
            self.statusBar().showMessage("⚠ levels drift above what you recognise: see under the plots", 15_000)

    @Slot(str)
    def _on_warning(self, message: str) -> None:
        self.messages.append(message)
        self.statusBar().showMessage(f"⚠ {message}", 15_000)
        self.status.state.setToolTip("\n".join(self.messages[-10:]))

    @Slot(object)
    def _on_finished(self, outcome: Outcome) -> None:
        self.last_outcome = outcome
        self._stop_watch_bot()
        result = outcome.result
        if outcome.status in (RunState.DONE, RunState.STOPPED) and result is not None:
            def pct(value):
                return "missing" if value is None else f"{value:.1f} %"

            summary = (f"clean {pct(result.clean)} · Gaussian {pct(result.gaussian)} · All {pct(result.all)} · "
                       f"{result.queries_used} answers")
            self.status.set_finished(f"{'done' if outcome.status == RunState.DONE else 'stopped early'}: {summary}")
            self.panel.finish(f"Training finished: {summary}.")
        elif outcome.status == RunState.CANCELLED:
            saved = " Your answers are saved; Start (F5) resumes the project." if self.last_project else ""
            self.status.set_finished("cancelled")
            self.panel.finish(f"Training was cancelled.{saved}")
        else:
            self.status.set_finished("failed")
            request = self.session.request if self.session is not None else None
            if request is not None and request.open_existing and not Path(request.project).exists():
                self.store.remove_recent_project(str(Path(request.project).resolve()))
            self.panel.finish(f"Training stopped with an error: {outcome.message or 'see the message'}. "
                              "Fix it and start again; answers given so far are saved in the project.")
        self.plots.redraw_dirty()
        self._update_actions()
        if self._closing:
            self.close()

    @Slot(bool)
    def _on_predictions_toggled(self, on: bool) -> None:
        # The worker sends the model at the start and after each evaluation: the panel predicts
        # from that copy at once. Only a panel without one asks for a copy at the next batch.
        if self.session is not None:
            self.session.set_predictions_wanted(on and not self.panel.has_model)

    def _stop_watch_bot(self) -> None:
        if self.watch_bot is not None:
            self.watch_bot.stop()
            self.watch_bot.deleteLater()
            self.watch_bot = None

    # -- export --------------------------------------------------------------------------------------
    def export_project(self) -> None:
        """Ctrl+E: choose a folder (the project's `export` folder is suggested, and made so the
        dialog can choose it), export off the GUI thread, then say where the files went."""
        if self.last_project is None or (self.session is not None and self.session.active):
            return
        suggested, made = export_folder(Path(self.last_project))
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", str(suggested))
        if made and (not folder or Path(folder).resolve() != suggested.resolve()):
            try:
                suggested.rmdir()  # made for the dialog, not chosen: leave no empty folder behind
            except OSError:
                pass
        if folder:
            self.run_export(self.last_project, folder)

    def run_export(self, project_path: str, folder: str) -> BackgroundJob:
        def work():
            from app.engine.project import Project

            notes = []
            with Project.open(project_path) as project:
                files = project.export(folder, on_warning=notes.append)
            return files, notes

        self.statusBar().showMessage(f"exporting to {folder} …")
        self.export_action.setEnabled(False)
        job = BackgroundJob(work, "export", self)
        job.done.connect(lambda value: self._export_done(folder, *value))
        job.failed.connect(self._export_failed)
        self.export_job = job.start()
        return job

    def _export_done(self, folder: str, files, notes) -> None:
        for note in notes:
            self._on_warning(note)
        self.statusBar().showMessage(f"exported {len(files)} files to {folder}", 15_000)
        self._update_actions()
        self.export_box = self._show_export_message(folder, files, notes)

    def _show_export_message(self, folder: str, files, notes) -> QMessageBox:
        """Names the folder and the files, with a button that opens the folder (not modal)."""
        names = ", ".join(Path(f).name for f in files)
        box = QMessageBox(QMessageBox.Icon.Information, f"Export — {APP_NAME}", f"Exported {len(files)} files to {folder}", parent=self)
        box.setInformativeText(names + "".join(f"\n⚠ {note}" for note in notes))
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        open_button = box.addButton("Open folder", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setDefaultButton(open_button)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda button: self.open_folder(folder) if button is open_button else None)
        box.open_button = open_button
        box.show()
        return box

    def open_folder(self, folder: str) -> bool:
        """Show `folder` in the desktop's file manager."""
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
        if not opened:
            self.statusBar().showMessage(f"no file manager could be started: the files are in {folder}", 30_000)
        return opened

    def _export_failed(self, message: str) -> None:
        self.show_error(message)
        self._update_actions()

    # -- messages ---------------------------------------------------------------------------------
    @Slot(str)
    def show_error(self, message: str) -> QMessageBox:
        """One line, in a box that does not block the window (training keeps running)."""
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=None, b=box: self.error_boxes.remove(b) if b in self.error_boxes else None)
        self.error_boxes.append(box)
        box.show()
        self.statusBar().showMessage(message, 15_000)
        return box

    def confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, APP_NAME, question)
        return answer == QMessageBox.StandardButton.Yes

    def show_help(self) -> None:
        HelpDialog(self).exec()

    def show_about(self) -> None:
        QMessageBox.about(self, APP_NAME, "<b>AQPL Studio</b><br>Active Query of Perturbation Levels: train image "
                          "classifiers that stay accurate under corruption, with an expert in the loop.")

    # -- keys, layout, closing ----------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if not self.panel.handle_key(event):
            super().keyPressEvent(event)

    def _restore_layout(self) -> None:
        geometry = self.store.layout("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.setGeometry(default_geometry(self.screen().availableGeometry()))
        else:
            self.setGeometry(clamp_geometry(self.geometry(), self.screen().availableGeometry()))
        state = self.store.layout("state")
        if state is not None:
            self.restoreState(state)
        splitter = self.store.layout("splitter")
        if splitter is None or not self.splitter.restoreState(splitter):
            self.splitter.setSizes([int(self.width() * 0.53), int(self.width() * 0.47)])  # large query images

    def save_layout(self) -> None:
        self.store.save_layout("geometry", self.saveGeometry())
        self.store.save_layout("state", self.saveState())
        self.store.save_layout("splitter", self.splitter.saveState())
        self.store.sync()

    def closeEvent(self, event) -> None:
        if self.session is not None and self.session.active:
            if not self._closing:
                question = "Training is running. Stop it and quit?"
                if self.last_project or (self.session.request.project is not None):
                    question += " Your answers are saved in the project; you can resume it later."
                if not self.confirm(question):
                    event.ignore()
                    return
                self._closing = True
                self.session.cancel()
                self.statusBar().showMessage("stopping training …")
            event.ignore()  # closes for real once the worker thread has ended (_on_finished)
            return
        self._stop_watch_bot()
        self.save_layout()
        self.plots.timer.stop()
        event.accept()
