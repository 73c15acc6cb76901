"""`python -m app` / `aqpl-studio`: open the application, or run headless.

Every error the user can fix (AQPLError) ends as one line on stderr and exit code 2; no
traceback reaches the user for bad input.
"""

import os
import sys
import time

from app.cli.report import run_reporting, sigterm_unwinds
from app.errors import AQPLError

SUBCOMMANDS = ("corrupt", "gallery")


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or os.environ.get("QT_QPA_PLATFORM") == "offscreen"


def dispatch(argv: list[str]) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        from app.cli import corrupt

        with sigterm_unwinds():
            return corrupt.corrupt_main(argv[1:]) if argv[0] == "corrupt" else corrupt.gallery_main(argv[1:])

    from app.cli.options import build_parser, setting_overrides

    args = build_parser().parse_args(argv)
    if args.simulate_oracle and not args.gui:
        from app.cli.headless import run_headless

        with sigterm_unwinds():
            return run_headless(args)
    if not has_display():
        if args.gui:
            raise AQPLError("no display found for --gui: run under a desktop session (or xvfb-run), or drop --gui to run headless")
        print("no display found: running the headless demo (python -m app --simulate-oracle); "
              "start the application from a desktop session", file=sys.stderr)
        args.simulate_oracle = True
        if args.eval_every is None:
            # Nobody watches live plots here: the per-epoch evaluations would cost twice the
            # training and change no number of the table (they train nothing); the final one runs.
            args.eval_every = 0
        from app.cli.headless import run_headless

        started = time.perf_counter()
        with sigterm_unwinds():
            code = run_headless(args)
        minutes, seconds = divmod(round(time.perf_counter() - started), 60)
        print(f"the headless demo took {minutes} min {seconds:02d} s")
        return code
    from app.gui import launch

    return launch(setting_overrides(args), simulate_oracle=args.simulate_oracle, project=args.project)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    return run_reporting(lambda: dispatch(argv))


if __name__ == "__main__":
    raise SystemExit(main())
