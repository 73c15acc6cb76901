"""Screenshots of the real application during a real expert session, for the README and docs.

    python -m app.gui.screenshots --out resources/readme          # needs Xvfb, xdotool, ImageMagick

For each screen size (default 1366×768 and 1920×1080) it starts a virtual X screen, starts
`python -m app` on it as a new user would (settings, projects and logs in a temporary home),
opens *New session* with Ctrl+N and presses Enter, so the session runs with the defaults
(AQPL-CAT, continuous, the embedded set, budget 5 %), except level propagation, which
the dialog remembers from a previous session (`--propagate`, neighbours by default). A scripted expert then answers through
the keyboard with xdotool, one digit key every `--every` seconds, while training runs. Once the
project's metrics log holds `--evaluations` evaluations the whole window is captured with
ImageMagick's `import` (main_window.png, or main_window_WxH.png for the other sizes); then P
switches the model's predictions on and the query panel is captured (query_panel.png, from
the first size only). Nothing in the application is driven from inside: what the pictures
show is what a person at that screen sees.
"""

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_BYTES = 400_000
# What the scripted expert answers: candidate numbers of a plausible person (mostly mid levels).
ANSWER_KEYS = "5463574635264735"


def run(*argv, env=None, check=True, capture=True) -> str:
    result = subprocess.run(argv, env=env, check=check, capture_output=capture, text=True, timeout=120)
    return result.stdout.strip() if capture else ""


def shrink_png(path: Path) -> int:
    """Fall back to a 256-colour palette when the file is too big for the repository."""
    if path.stat().st_size > MAX_BYTES:
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path.stat().st_size


class VirtualScreen:
    def __init__(self, size: str, display: int):
        self.display = f":{display}"
        self.process = subprocess.Popen(["Xvfb", self.display, "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def query_on_screen(window: str, env: dict) -> bool:
    """Whether the query panel shows candidate images: the expert looks before answering. The
    enlarged noisy images fill much of the panel with grey; the empty panel is white with a line
    of text."""
    import io

    from PIL import Image

    png = subprocess.run(["import", "-window", window, "png:-"], env=env, capture_output=True, timeout=60).stdout
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    panel = image.crop((20, height // 5, int(width * 0.5), height * 4 // 5))
    histogram = panel.histogram()
    return sum(histogram[:200]) / max(sum(histogram), 1) > 0.15


def evaluations(home: Path) -> int:
    logs = list((home / "data").rglob("metrics.jsonl"))
    return sum(len(p.read_text().splitlines()) for p in logs)


def remember_last_session(config_home: Path, overrides: dict) -> None:
    """What the new-session dialog opens with: this user's last session (QSettings' INI file
    under XDG_CONFIG_HOME), as if they had chosen it once before."""
    from app.gui.settings_store import SettingsStore

    store = SettingsStore(config_home / "AQPL Studio" / "AQPL Studio.conf")
    store.save_last_session(overrides)
    store.sync()


def shoot_session(size: str, out: Path, name: str, args, first: bool) -> None:
    home = Path(tempfile.mkdtemp(prefix="aqpl-screens-"))
    screen = VirtualScreen(size, display=90 + int(size.split("x")[0]) % 7)
    env = dict(os.environ, DISPLAY=screen.display, XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), AQPL_LOG_DIR=str(home / "logs"))
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("WAYLAND_DISPLAY", None)
    remember_last_session(home / "config", {"propagate": args.propagate})
    app = subprocess.Popen([sys.executable, "-m", "app"], env=env)
    try:
        window = run("xdotool", "search", "--sync", "--onlyvisible", "--name", "AQPL Studio", env=env).split()[0]
        run("xdotool", "mousemove", "300", "300", env=env, check=False)  # no window manager: focus follows the pointer
        run("xdotool", "windowfocus", "--sync", window, env=env, check=False)
        time.sleep(1.0)
        run("xdotool", "key", "ctrl+n", env=env)
        dialog = run("xdotool", "search", "--sync", "--onlyvisible", "--name", "New session", env=env).split()[0]
        run("xdotool", "windowfocus", "--sync", dialog, env=env, check=False)
        time.sleep(0.5)
        run("xdotool", "key", "Return", env=env)  # Start, with every default
        time.sleep(1.0)
        run("xdotool", "windowfocus", window, env=env, check=False)
        keys = itertools.cycle(ANSWER_KEYS)
        deadline = time.monotonic() + args.timeout
        answered = 0
        while True:
            if time.monotonic() > deadline:
                raise SystemExit(f"no {args.evaluations} evaluations after {args.timeout} s: is the machine busy?")
            if not query_on_screen(window, env):
                time.sleep(0.5)  # the queue is empty: wait for the next refill
                continue
            if evaluations(home) >= args.evaluations and answered >= args.answers:
                break  # a query on screen, with history in the plots: the picture
            time.sleep(args.every)  # looking at the image
            run("xdotool", "key", next(keys), env=env)
            answered += 1
        time.sleep(1.2)  # two plot redraws
        target = out / name
        run("import", "-window", window, str(target), env=env)
        print(f"{target}: {shrink_png(target) // 1024} KB", file=sys.stderr)
        if first:
            run("xdotool", "key", "p", env=env)  # the model's predictions under each candidate
            time.sleep(3.0)
            geometry = run("xdotool", "getwindowgeometry", window, env=env)
            width, height = (int(v) for v in geometry.split("Geometry:")[1].split()[0].split("x"))
            panel = out / "query_panel.png"
            # the query panel: the splitter's left part, between the toolbar and the status line
            crop = f"{int(width * 0.525)}x{height - 68}+0+40"
            run("import", "-window", window, "-crop", crop, "+repage", str(panel), env=env)
            print(f"{panel}: {shrink_png(panel) // 1024} KB", file=sys.stderr)
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
        screen.close()
        shutil.rmtree(home, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="resources/readme")
    parser.add_argument("--sizes", default="1366x768,1920x1080")
    parser.add_argument("--every", type=float, default=1.2, help="seconds the expert looks at a query before answering")
    parser.add_argument("--answers", type=int, default=25, help="answers before the shot")
    parser.add_argument("--evaluations", type=int, default=3, help="evaluations before the shot")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--propagate", default="neighbours", help="the session's level propagation (remembered from a 'last session')")
    args = parser.parse_args(argv)
    for tool in ("Xvfb", "xdotool", "import"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y xvfb xdotool imagemagick")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, size in enumerate(args.sizes.split(",")):
        name = "main_window.png" if i == 0 else f"main_window_{size}.png"
        shoot_session(size, out, name, args, first=i == 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
