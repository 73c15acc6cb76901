"""How every command ends for the user: an error they can fix (AQPLError) as one line on
stderr and exit code 2, an interrupt as one line and 130; never a traceback."""

import sys

from app.engine.errors import AQPLError


def run_reporting(body, interrupted: str = "interrupted") -> int:
    try:
        return body()
    except AQPLError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory: use a smaller --batch-size or a smaller dataset", file=sys.stderr)
        return 2
