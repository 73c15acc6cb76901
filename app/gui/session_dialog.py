"""The new-session dialog. Every field has a sensible default, so New → Start trains on the
embedded dataset without a single choice. Settings are checked with the engine's own
validation before the dialog closes; the message is the engine's one line."""

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from app.engine.choices import CHOICES
from app.engine.data import DATASETS
from app.errors import AQPLError, SettingsError
from app.engine.settings import load_defaults
from app.gui import theme
from app.gui.prepare import SessionRequest, default_project_folder, settings_for
from app.registry import Registry
from models.registry import AUTO

FAMILY_FREE = ("dataset", "method", "strategy", "random_share", "propagate", "mode", "budget", "device", "augment")
SPIN_FIELDS = {  # name: (label, minimum, maximum); the minimum means "default"
    "epochs": ("Epochs (continuous: the minimum)", 0, 1000),
    "queries_per_round": ("Queries per round", 0, 100_000),
    "warmup_epochs": ("Warm-up epochs", -1, 1000),
    "round_every": ("A round every … epochs", 0, 1000),
    "batch_size": ("Batch size", 0, 65_536),
    "seed": ("Seed", -1, 1_000_000),
    "idle_finish_s": ("Finish after … s without an answer", 0, 86_400),
}


def family_guess(dataset: str) -> str:
    """For checking the settings before the data is loaded ('imagefolder' may be either)."""
    entry = DATASETS.entry(dataset)
    return entry.family if entry else "gray"


def grid_placeholder() -> str:
    """The default candidate levels of both families, as resources/defaults.toml gives them."""
    shown = {}
    for family in ("gray", "colour"):
        grid = load_defaults(family)["grid"]
        shown[family] = f"{grid[0]:g}, {grid[1]:g}, …, {grid[-1]:g}"
    return f"default: {shown['gray']} (grayscale) or {shown['colour']} (colour)"


def parse_grid(text: str) -> list[float] | None:
    text = text.strip()
    if not text:
        return None
    try:
        return [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise SettingsError(f"candidate grid {text!r} is not a list of numbers: write e.g. 0, 0.1, 0.2, 0.3") from None


class SessionDialog(QDialog):
    def __init__(self, initial: dict | None = None, project_root: Path | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New session")
        self.project_root = project_root
        self.request: SessionRequest | None = None
        # Only the settings every data family shares come prefilled; the others (epochs, grid,
        # model) show "default" and follow the family of the dataset loaded.
        family_free = {k: v for k, v in load_defaults("gray", gui=True).items() if k in FAMILY_FREE}
        initial = {**family_free, **(initial or {})}
        layout = QVBoxLayout(self)

        form = QFormLayout()
        self.dataset = self._combo(DATASETS, initial["dataset"])
        self.data_dir = QLineEdit(initial.get("data_dir") or "")
        self.data_dir.setPlaceholderText("found automatically where possible")
        form.addRow("Dataset", self.dataset)
        form.addRow("Data folder", self._with_browse(self.data_dir, self._browse_data))
        self.image_size = QSpinBox(minimum=0, maximum=512, value=int(initial.get("image_size") or 0))
        self.image_size.setSpecialValueText("as stored")
        form.addRow("Image size (own images)", self.image_size)
        self.method = self._combo(CHOICES["method"], initial["method"])
        form.addRow("Method", self.method)
        self.strategy = self._combo(CHOICES["strategy"], initial["strategy"])
        form.addRow("Sampling strategy", self.strategy)
        self.random_share = QSpinBox(minimum=0, maximum=100, value=round(100 * float(initial["random_share"])), suffix=" %")
        self.random_share.setToolTip("Share of each round's picks drawn at random instead of by the strategy: the "
                                     "strategy alone picks unrepresentative images (docs/results.md)")
        form.addRow("Picked at random", self.random_share)
        self.propagate = self._combo(CHOICES["propagate"], initial["propagate"])
        self.propagate.setToolTip("What an answer says about the examples nobody answered (beyond the paper; "
                                  "off reproduces it). AQPL methods only.")
        form.addRow("Spread answers", self.propagate)
        self.augment = self._combo(CHOICES["augment"], initial["augment"])
        self.augment.setToolTip("Augment every training image before its noise (torchvision v2), with any method")
        form.addRow("Augmentation", self.augment)
        self.budget = QLineEdit(str(initial["budget"]))
        self.budget.setToolTip("Total questions: a count (300) or a share of the training set (5%)")
        form.addRow("Budget", self.budget)
        self.grid = QLineEdit(", ".join(f"{g:g}" for g in initial["grid"]) if initial.get("grid") else "")
        self.grid.setPlaceholderText(grid_placeholder())
        form.addRow("Candidate levels", self.grid)
        self.mode = self._combo(CHOICES["mode"], initial["mode"], {
            "continuous": "Continuous: training goes on while you answer, until you finish",
            "synchronous": "Synchronous: training waits for each round (the paper's protocol)",
        })
        form.addRow("Mode", self.mode)
        self.model = self._combo(CHOICES["model"], initial.get("model", AUTO), {AUTO: "auto (by image size and colour)"})
        form.addRow("Model", self.model)
        self.device = self._combo(CHOICES["device"], initial["device"], {"auto": "auto (GPU if there is one)"})
        form.addRow("Device", self.device)
        self.spins = {}
        for name in ("epochs", "queries_per_round"):
            form.addRow(SPIN_FIELDS[name][0], self._spin(name, initial))
        layout.addLayout(form)

        advanced = QGroupBox("Advanced")
        advanced_form = QFormLayout(advanced)
        for name in ("warmup_epochs", "round_every", "batch_size", "seed", "idle_finish_s"):
            advanced_form.addRow(SPIN_FIELDS[name][0], self._spin(name, initial))
        layout.addWidget(advanced)

        project_box = QGroupBox("Project")
        project_form = QVBoxLayout(project_box)
        self.save_project = QCheckBox("Save as a project (every answer is kept, the session can be reopened)")
        self.save_project.setChecked(project_root is not None)
        self.project_dir = QLineEdit(str(default_project_folder(project_root, initial)) if project_root else "")
        self.save_project.toggled.connect(self.project_dir.setEnabled)
        project_form.addWidget(self.save_project)
        project_form.addWidget(self._with_browse(self.project_dir, self._browse_project))
        layout.addWidget(project_box)

        self.error = QLabel(wordWrap=True)
        self.error.setStyleSheet(f"color: {theme.BAD};")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        # Enter means Start: QDialogButtonBox makes Cancel the default when the dialog is shown
        # unless Cancel is barred from it, and Enter then silently threw the session away.
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAutoDefault(False)
        self.start_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.dataset.currentIndexChanged.connect(self._dataset_changed)
        self.method.currentIndexChanged.connect(self._rename_project)
        self._auto_project = self.project_dir.text()
        self._dataset_changed()
        self.dataset.setFocus()  # Enter right away: Start with every default

    # -- fields ---------------------------------------------------------------------------------
    def _combo(self, values, current, labels=None) -> QComboBox:
        """A registry's names with their labels (or a fixed list's, labelled by `labels`)."""
        box = QComboBox()
        for value in values:
            label = values.entry(value).label if isinstance(values, Registry) else value
            box.addItem((labels or {}).get(value, label), value)
        index = box.findData(current)
        box.setCurrentIndex(max(index, 0))
        return box

    def _spin(self, name: str, initial: dict) -> QSpinBox:
        _, low, high = SPIN_FIELDS[name]
        value = initial.get(name)
        spin = QSpinBox(minimum=low, maximum=high, value=low if value is None else int(value))
        spin.setSpecialValueText("default")
        self.spins[name] = spin
        return spin

    def _with_browse(self, edit: QLineEdit, handler) -> QWidget:
        host = QWidget()
        row = QHBoxLayout(host)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.setAutoDefault(False)  # Enter anywhere in the dialog means Start, never a file browser
        button.clicked.connect(handler)
        row.addWidget(button)
        edit.browse_button = button
        return host

    def _browse_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.data_dir.text())
        if folder:
            self.data_dir.setText(folder)

    def _browse_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the new project (an empty or new folder)", self.project_dir.text())
        if folder:
            self.project_dir.setText(folder)

    def _dataset_changed(self) -> None:
        name = self.dataset.currentData()
        self.data_dir.setEnabled(name != "embedded")
        self.image_size.setEnabled(name == "imagefolder")
        self._rename_project()

    def _rename_project(self) -> None:
        """The suggested folder follows the dataset and method until the user edits it."""
        if self.project_root is None or self.project_dir.text() != getattr(self, "_auto_project", None):
            return
        names = {"dataset": self.dataset.currentData(), "method": self.method.currentData()}
        self._auto_project = str(default_project_folder(self.project_root, names))
        self.project_dir.setText(self._auto_project)

    # -- result ---------------------------------------------------------------------------------
    def overrides(self) -> dict:
        values = {
            "dataset": self.dataset.currentData(), "method": self.method.currentData(),
            "strategy": self.strategy.currentData(), "propagate": self.propagate.currentData(),
            "random_share": self.random_share.value() / 100,
            "augment": self.augment.currentData(), "mode": self.mode.currentData(),
            "model": self.model.currentData(), "device": self.device.currentData(),
            "budget": self.budget.text().strip() or None, "grid": parse_grid(self.grid.text()),
            "data_dir": self.data_dir.text().strip() or None if self.dataset.currentData() != "embedded" else None,
            "image_size": self.image_size.value() or None if self.dataset.currentData() == "imagefolder" else None,
        }
        for name, spin in self.spins.items():
            values[name] = None if spin.value() == spin.minimum() else spin.value()
        return {k: v for k, v in values.items() if v is not None}

    def build_request(self) -> SessionRequest:
        """The request for the worker; raises AQPLError with the engine's message."""
        overrides = self.overrides()
        if overrides["dataset"] == "imagefolder" and not overrides.get("data_dir"):
            raise SettingsError("your own images need a data folder: choose the folder that holds one sub-folder per class")
        settings_for(family_guess(overrides["dataset"]), overrides)  # the engine's validation
        project = self.project_dir.text().strip() if self.save_project.isChecked() else None
        if self.save_project.isChecked() and not project:
            raise SettingsError("choose a folder for the project, or untick 'Save as a project'")
        return SessionRequest(overrides=overrides, project=project)

    def accept(self) -> None:
        try:
            self.request = self.build_request()
        except AQPLError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        super().accept()
