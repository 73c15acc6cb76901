"""One run on several processes (torchrun): DistributedDataParallel, and how the level table,
the queries and the evaluation stay one run. No Qt here; the GUI never uses this module.

Started by torchrun (WORLD_SIZE > 1): `join()` opens the process group (gloo on the CPU,
nccl on CUDA, one GPU per local rank) and returns a `Group`; `Group.attach(trainer)` turns a
Trainer into one rank of a data-parallel run:

* batches: every rank draws the same epoch permutation; global batch b holds the examples a
  one-process run would use, and rank r trains on positions r, r+W, r+2W, ... of it. DDP
  averages the gradients, so each step still learns from the whole batch, and the number of
  steps and the learning-rate schedule do not depend on W.
* training noise: each rank draws it from its own generator, seeded by (seed, epoch, rank).
* level table: CAT changes the levels of the examples a rank trains; every example is trained
  by exactly one rank per epoch, so the ranks exchange their updates once per epoch, after its
  last batch (all_gather of ids, levels, sources), before evaluation, query rounds and the
  checkpoint. BatchNorm running statistics are averaged at the same point.
* queries: the pool is cut into W contiguous chunks, each rank scores one, the scores are
  gathered, and every rank selects the same queries; rank 0 alone asks the oracle and
  broadcasts its answers, which every rank then applies (identical tables).
* evaluation: test images (and each corrupted set) are cut likewise; noise is keyed by the
  global index, so the gathered predictions are those of a one-process pass.
* writing: rank 0 alone owns the project (answers, metrics, checkpoints, results); the
  other ranks use a store that writes nothing.
"""

import hashlib
import os
from contextlib import contextmanager

import torch
import torch.distributed as dist

from app.engine.oracle.base import Oracle
from app.engine.seeds import derive_seed

_active: "Group | None" = None  # set while a distributed trainer runs: evaluation shards then


def active() -> "Group | None":
    return _active


def launched() -> bool:
    """True in a process that torchrun started with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join(device: torch.device) -> "Group":
    """Open the process group for `device` (the caller's pick_device result)."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Group(dist.get_rank(), dist.get_world_size(), local_rank, device)


def _to_cpu(value):
    if torch.is_tensor(value):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


class Group:
    def __init__(self, rank: int, world: int, local_rank: int, device: torch.device):
        self.rank, self.world, self.local_rank, self.device = rank, world, local_rank, device
        self._trained: list[torch.Tensor] = []

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def close(self) -> None:
        """Leave together and tear the group down: a process that exits with gloo's threads
        still running aborts ("terminate called without an active exception")."""
        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    # -- collectives ----------------------------------------------------------------------
    def broadcast(self, value=None):
        """Rank 0's `value` on every rank (any picklable object; tensors travel on the CPU)."""
        box = [_to_cpu(value) if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value) -> list:
        """Every rank's `value`, in rank order, on every rank."""
        out = [None] * self.world
        dist.all_gather_object(out, _to_cpu(value))
        return out

    def barrier(self) -> None:
        dist.barrier()

    def main_first(self, build):
        """Rank 0 runs `build` (e.g. fills a cache), then the others run it (and read the cache)."""
        if self.is_main:
            value = build()
            self.barrier()
            return value
        self.barrier()
        return build()

    def chunk(self, n: int) -> tuple[int, int]:
        """This rank's contiguous part [lo, hi) of n items."""
        per = -(-n // self.world)
        return min(n, self.rank * per), min(n, (self.rank + 1) * per)

    # -- a trainer as one rank -----------------------------------------------------------
    def attach(self, trainer) -> None:
        from torch.nn.parallel import DistributedDataParallel

        trainer.group = self
        ids = [self.local_rank] if self.device.type == "cuda" else None
        trainer.train_forward = DistributedDataParallel(trainer.model, device_ids=ids)
        rounds = trainer.query_rounds  # its pool scoring: each rank scores a part of the pool
        score_alone = rounds.score_pool
        rounds.score_pool = lambda pool: self.score_pool(score_alone, pool)
        if trainer.settings.uses_queries:  # the same decision on every rank
            trainer.oracle = AnswersFromMain(self, trainer.oracle if self.is_main else None)

    @contextmanager
    def running(self):
        global _active
        _active = self
        try:
            yield
        finally:
            _active = None

    def epoch_generator(self, seed: int, epoch: int) -> torch.Generator:
        return torch.Generator().manual_seed(derive_seed(seed, "rank-epoch", epoch, self.rank))

    def shard(self, ids: torch.Tensor) -> torch.Tensor:
        mine = ids[self.rank :: self.world]
        if len(mine) == 0:  # a last batch smaller than W: this rank repeats one example
            mine = ids[-1:]
        self._trained.append(mine.cpu())
        return mine

    def end_epoch(self, trainer) -> None:
        """Exchange the epoch's level updates and average BatchNorm statistics."""
        table = trainer.table
        ids = torch.cat(self._trained) if self._trained else torch.empty(0, dtype=torch.long)
        self._trained = []
        for rank_ids, level, source in self.gather((ids, table.level[ids], table.source[ids])):
            table.level[rank_ids] = level
            table.source[rank_ids] = source
        with torch.no_grad():
            for buffer in trainer.model.buffers():
                if buffer.is_floating_point():
                    dist.all_reduce(buffer)
                    buffer.div_(self.world)

    def score_pool(self, score_alone, pool: torch.Tensor) -> torch.Tensor:
        lo, hi = self.chunk(len(pool))
        # rank order is pool order; the pool is the second-last axis ((N, K), or (draws, N, K))
        return torch.cat(self.gather(score_alone(pool[lo:hi])), dim=-2)

    def fingerprint(self, trainer) -> str:
        """Level table and weights of this rank, for the end-of-run agreement check."""
        digest = hashlib.sha1()
        for tensor in (trainer.table.level, trainer.table.source, trainer.table.cap):
            digest.update(tensor.numpy().tobytes())
        table = digest.hexdigest()[:12]
        for tensor in trainer.model.state_dict().values():
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return f"level table {table}, model {digest.hexdigest()[:12]}"


class AnswersFromMain(Oracle):
    """Rank 0 asks the real oracle and broadcasts; every other rank receives the same answers."""

    def __init__(self, group: Group, inner: Oracle | None):
        self.group, self.inner = group, inner
        self.name = getattr(inner, "name", "simulated")

    def answer(self, queries):
        return self.group.broadcast(self.inner.answer(queries) if self.group.is_main else None)
