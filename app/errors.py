"""Errors the user can fix.

`AQPLError`'s message is shown as one line to the user (command line or GUI): it names
the problem and the fix. Anything else that escapes is a bug and gets a traceback.
"""


class AQPLError(Exception):
    """A problem with the user's input or environment; str(error) is the one-line message."""


class DatasetError(AQPLError):
    """A dataset is missing, corrupt, or not in its official layout."""


class SettingsError(AQPLError):
    """An invalid setting (negative budget, empty grid, unknown name, ...)."""


def out_of_memory(batch_size: str = "the batch size") -> str:
    """The one message for an exhausted memory (the command line names its option)."""
    return f"out of memory: use a smaller batch size ({batch_size}) or a smaller dataset"
