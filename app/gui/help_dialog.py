"""Help: what the expert is asked, and every keyboard shortcut."""

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from app.gui.shortcuts import QUERY_KEYS, WINDOW_KEYS

INTRO = """
<p><b>What you are asked.</b> Each query shows one training image at every candidate noise
level σ, with the same noise pattern, so the images differ only in strength. Pick the
<b>largest</b> level at which you still recognise the image as its class. That level becomes the
example's training level: too much noise teaches the model nonsense, too little teaches it
nothing.</p>
<p>Every answer is saved the moment you give it (when a project is open). In continuous mode
training goes on while you answer: the epochs you chose are the minimum, and training continues
as long as you keep answering. It runs its final epochs (your answers still count) and evaluates
when you press <b>Finish (F8)</b>, when you have not answered for a while (a setting, 90 s by
default), or when the budget is spent. In synchronous mode training waits at the end of each round.</p>
"""


def _table(title: str, rows) -> str:
    body = "".join(f"<tr><td style='padding:2px 16px 2px 0'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"<h4 style='margin-bottom:4px'>{title}</h4><table>{body}</table>"


class HelpDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("AQPL Studio — help")
        layout = QVBoxLayout(self)
        text = QLabel(INTRO + _table("Query panel", QUERY_KEYS) + _table("Window", WINDOW_KEYS))
        text.setWordWrap(True)
        text.setMinimumWidth(560)
        layout.addWidget(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
