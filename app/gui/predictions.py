"""The model's prediction at each candidate level, for the query panel's optional display.

Runs on a CPU copy of the weights the worker sends (when a session starts and after each
evaluation), never on the training model: the training thread owns that one. The panel holds
the latest copy before anyone presses P, so the predictions need not wait for training to
reach its next batch (which, during an evaluation or the round's scoring, took seconds, and
while paused never came). `PredictionService` builds the model and predicts in its own thread:
the GUI thread never runs the model.
"""

import threading

import torch
from PySide6.QtCore import QObject, Qt, Signal

from models import build


class Predictor:
    def __init__(self, model_name: str, num_classes: int, in_channels: int, image_size: int):
        self.model = build(model_name, num_classes, in_channels, image_size).eval()
        self.loaded = False

    def load(self, state: dict) -> None:
        self.model.load_state_dict(state)
        self.loaded = True

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> tuple[list[int], list[float]]:
        """images: (L, C, H, W) floats in [0, 1] → (class per image, its probability)."""
        probs = torch.softmax(self.model(images), dim=1)
        confidence, classes = probs.max(dim=1)
        return classes.tolist(), confidence.tolist()


class PredictionService(QObject):
    """Predictions in a thread of their own. `set_state` gives it the latest weights,
    `request(token, images)` asks for one query's predictions (a newer request replaces one not
    yet started); `ready(token, (classes, confidences))` comes back in the GUI thread. A request
    made before any weights arrived waits for them."""

    ready = Signal(object, object)
    failed = Signal(str)

    def __init__(self, spec: tuple, parent=None):
        super().__init__(parent)
        self.spec = spec  # Predictor's arguments
        self._relay = _Relay()
        self._relay.value.connect(self.ready, Qt.ConnectionType.QueuedConnection)
        self._relay.message.connect(self.failed, Qt.ConnectionType.QueuedConnection)
        self._wake = threading.Condition()
        self._state: dict | None = None
        self._version = 0  # of _state
        self._request: tuple | None = None
        self._closed = False
        self.thread = threading.Thread(target=self._run, name="aqpl-predictions", daemon=True)
        self.thread.start()

    def set_state(self, state: dict) -> None:
        with self._wake:
            self._state, self._version = state, self._version + 1
            self._wake.notify()

    def request(self, token, images: torch.Tensor) -> None:
        with self._wake:
            self._request = (token, images)
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    def _run(self) -> None:
        predictor, loaded = None, 0
        while True:
            with self._wake:
                while not self._closed and (self._request is None or self._state is None):
                    self._wake.wait()
                if self._closed:
                    return
                (token, images), self._request = self._request, None
                state, version = self._state, self._version
            try:
                if predictor is None:
                    predictor = Predictor(*self.spec)
                if loaded != version:
                    predictor.load(state)
                    loaded = version
                self._relay.value.emit(token, predictor.predict(images))
            except Exception as exc:  # a model that does not fit its weights: say so once, keep the panel
                self._relay.message.emit(f"the model's predictions failed: {type(exc).__name__}: {exc}"[:300])
                with self._wake:
                    self._closed = True
                return


class _Relay(QObject):
    """Emitted from the service's thread; the queued connections carry it to the GUI thread."""

    value = Signal(object, object)
    message = Signal(str)
