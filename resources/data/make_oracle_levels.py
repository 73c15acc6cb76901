"""Write resources/data/oracle/: the default simulated oracle's conform levels for the embedded
dataset, so that the first run never trains the oracle's reference model (about 3.5 minutes on
a 2-core CPU). The file is named and checked by the oracle's cache key (recipe version, dataset
content, grid, reference settings): after any change to the recipe, run this again.

    python resources/data/make_oracle_levels.py

It computes the levels exactly as a first run would (or reads them from the cache), then
stores one grid index per training example (6,000 bytes of levels).
"""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import torch

    from app.engine.data import load_dataset
    from app.engine.oracle import SimulatedOracle
    from app.engine.oracle.shipped import shipped_folder, write_shipped_levels
    from app.engine.settings import defaults_for

    dataset = load_dataset("embedded")
    settings = defaults_for(dataset.family)
    oracle = SimulatedOracle(dataset, settings.grid, settings.reference_model, settings.reference_epochs,
                             torch.device("cpu"), progress=lambda done, total, label: print(f"\r{label}: {done}/{total}", end="", file=sys.stderr))
    started = time.perf_counter()
    oracle._levels = None
    key = oracle.cache_key()
    for old in shipped_folder().glob(f"{oracle.name}-*.pt"):
        old.unlink()  # compute (or read from the cache), never read back the file being replaced
    levels = oracle.levels()
    recipe = f"{oracle.name} oracle: {settings.reference_model}, {settings.reference_epochs} epochs, grid {settings.grid}"
    path = write_shipped_levels(oracle.name, key, settings.grid, levels, recipe=recipe)
    counts = {g: int((levels == g).sum()) for g in torch.tensor(settings.grid).tolist()}
    print(f"\nwrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes, key {key}) in {time.perf_counter() - started:.0f} s; "
          f"levels: {counts}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
