"""Colours and the application style sheet, in one place so every view agrees."""

ACCENT = "#2563eb"  # selection, the latest curve
ACCENT_SOFT = "#dbe6fd"
TEXT = "#1f2933"
MUTED = "#6b7280"
PANEL = "#ffffff"
WINDOW = "#f3f4f6"
GOOD = "#15803d"
BAD = "#b91c1c"
WARN = "#b45309"
PROGRESS = "#93c5fd"  # the progress bar's done part: light, so its dark text reads on it (contrast 7.9:1)

# Level sources (LevelTable.source: 0 initial, 1 adapted, 2 expert)
SOURCE_COLOURS = ("#9ca3af", "#60a5fa", "#f97316", "#a78bfa")  # by Source: initial, adapted, expert, propagated
SOURCE_NAMES = ("initial", "adapted", "expert", "propagated")

# Accuracy against answers: Clean, Gaussian, All
METRIC_COLOURS = {"clean": "#2563eb", "gaussian": "#f97316", "all": "#16a34a"}

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW}; }}
QFrame#card {{ background: {PANEL}; border: 1px solid #e5e7eb; border-radius: 8px; }}
QLabel#title {{ font-size: 17px; font-weight: 600; color: {TEXT}; }}
QLabel#subtitle {{ color: {MUTED}; }}
QLabel#hint {{ color: {MUTED}; font-size: 12px; }}
QLabel#empty {{ color: {MUTED}; font-size: 15px; }}
QLabel#device {{ padding: 0 8px; }}
QLabel#device[warn="true"] {{ color: {WARN}; font-weight: 600; }}
QProgressBar {{ border: 1px solid #d1d5db; border-radius: 4px; background: white; color: {TEXT}; text-align: center; min-width: 360px; }}
QProgressBar::chunk {{ background: {PROGRESS}; border-radius: 3px; }}
QToolBar {{ spacing: 4px; }}
QPushButton {{ padding: 4px 12px; }}
"""
