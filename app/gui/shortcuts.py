"""Every keyboard shortcut, in one list: the help dialog shows it, the README quotes it."""

QUERY_KEYS = [
    ("0 – 9, A", "answer with candidate 0–9; A (then B, C, …) with the 11th (12th, 13th, …): the key is in the badge under each image"),
    ("← → ↑ ↓", "move the selection between candidates"),
    ("Enter", "answer with the selected candidate"),
    ("Click", "answer with the clicked candidate"),
    ("S", "skip this example (it is not asked again; no budget used)"),
    ("Backspace, Ctrl+Z", "undo the last answer (unlimited; the example returns to the queue)"),
    ("Shift+Backspace, Ctrl+Y", "redo"),
    ("P", "show or hide the model's prediction at each level"),
]

WINDOW_KEYS = [
    ("Ctrl+N", "new session"),
    ("Ctrl+O", "open a project"),
    ("Ctrl+E", "export the project (levels, answers, model, report)"),
    ("F5", "start (or resume the open project)"),
    ("F6", "pause / resume training"),
    ("F8", "finish (continuous mode): stop extending training; the final epochs run, then the evaluation"),
    ("F7", "stop early: finish after this batch and keep the model"),
    ("Shift+F5", "cancel training (answers are kept)"),
    ("F1", "this help"),
    ("Ctrl+Q", "quit"),
]
