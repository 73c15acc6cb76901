"""Every seed a run derives from its own seed, in one place.

Each purpose (the epoch's order and noise, a round's pool scoring, an oracle's slip, ...) gets
its own stream, so two purposes never share draws. The formulas of the first purposes are kept
exactly (recorded runs and results depend on them); purposes added later hash their parts.
"""

import hashlib

_MASK63 = (1 << 63) - 1

# purpose → formula of (seed, *parts); these reproduce the seeds runs were recorded with
_FORMULAS = {
    "epoch": lambda seed, epoch: seed * 100_003 + epoch,  # batch order and training noise
    "rank-epoch": lambda seed, epoch, rank: seed * 100_003 + epoch + 1_000_000_007 * (rank + 1),
    "scoring": lambda seed, round_: seed * 1_000_003 + 7_727 * (round_ + 1),  # pool scoring noise
    "selection": lambda seed, round_: seed * 7_919 + round_,  # a round's random choices
    "annotator": lambda seed, example: (seed + 7_919) * 1_000_003 + example,  # an oracle's one-step slips
}


def derive_seed(seed: int, purpose: str, *parts: int) -> int:
    """A seed for `purpose` (and its parts: epoch, round, batch, ...) from the run's seed."""
    formula = _FORMULAS.get(purpose)
    if formula is not None:
        return int(formula(int(seed), *(int(p) for p in parts)))
    text = ":".join([purpose, str(int(seed)), *(str(int(p)) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") & _MASK63
