"""The expert's desktop application (PySide6). The only package that imports Qt.

`launch()` is the entry point the command line calls; Qt is imported only when it runs, so
`import app.gui` stays cheap for the headless paths.
"""


def launch(overrides: dict, simulate_oracle: bool = False, project: str | None = None) -> int:
    """Open the main window, run the event loop, return the exit code.

    overrides: settings from the command line (dataset, epochs, ...); simulate_oracle: watch
    mode (the simulated oracle answers through the query panel); project: open that folder.
    """
    from app.gui.app import launch as _launch

    return _launch(overrides, simulate_oracle=simulate_oracle, project=project)


__all__ = ["launch"]
