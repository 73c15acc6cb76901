"""Write resources/data/oracle/: the default simulated expert's conform levels for the embedded
dataset, so that a first run (and the packaged executable's first query) never waits for them.

    python resources/data/make_oracle_levels.py [--recipe perceptual]

The file is named by the recipe and checked by the oracle's cache key (recipe version and
parameters, dataset content, grid): after any change to the recipe or its defaults, run this
again; until then the stale file is simply not used and the levels are computed as before.
It computes the levels exactly as a first run would (or reads them from the cache), then stores
one grid index per training example (6,000 bytes of levels).
"""

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    import torch

    from app.engine.data import load_dataset
    from app.engine.oracle.recipes import RECIPES
    from app.engine.oracle.shipped import write_shipped_levels
    from app.engine.settings import defaults_for

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", help="the recipe to ship (default: the default recipe in resources/defaults.toml)")
    args = parser.parse_args(argv)
    dataset = load_dataset("embedded")
    settings = defaults_for(dataset.family)
    if args.recipe:
        settings = replace(settings, oracle_recipe=args.recipe).validate()
    progress = lambda done, total, label: print(f"\r{label}: {done}/{total}", end="", file=sys.stderr)
    # built without the shipped file (RECIPES, not make_simulated_oracle): never read back what is replaced
    oracle = RECIPES[settings.oracle_recipe](dataset, settings, torch.device("cpu"), progress)
    started = time.perf_counter()
    levels = oracle.levels()
    seconds = time.perf_counter() - started
    note = f"{settings.oracle_recipe} on the embedded set; computed in {seconds:.0f} s by resources/data/make_oracle_levels.py"
    path = write_shipped_levels(oracle.recipe, oracle.cache_key(), settings.grid, levels, note=note)
    counts = {g: int((levels == torch.tensor(g)).sum()) for g in settings.grid}
    print(f"\nwrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes, key {oracle.cache_key()}; "
          f"levels computed in {seconds:.0f} s): {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
