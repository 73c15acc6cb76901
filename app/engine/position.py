"""Where a run stands: epochs completed, batches trained, query rounds started.

One object, shared by the trainer and its parts (the answer desk records the round and step of
an answer, the query rounds count rounds), so none of them reads the others' counters.
"""

from dataclasses import dataclass


@dataclass
class Position:
    epoch: int = 0  # epochs completed
    step: int = 0  # batches trained (optimiser steps) in the run
    round: int = 0  # query rounds started
