"""Length-bucketed batches by frame budget, in a deterministic order per epoch and rank.

Batches are formed once (sorted by length, filled greedily while ``items * longest <= budget``),
so every epoch has the same batches; only their order changes with the epoch. A step number
therefore maps to exactly one batch: resuming at step N continues with the batch N would have had.
"""
from __future__ import annotations

import numpy as np


def make_batches(lengths: np.ndarray, frame_budget: int, max_items: int) -> list[np.ndarray]:
    """Group item indices ``[N]`` into batches whose padded size ``len(batch) * max length`` stays
    within ``frame_budget`` and holds at most ``max_items`` items (an item longer than the budget
    gets a batch of its own). Returns index arrays, shortest items first."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches: list[np.ndarray] = []
    cur: list[int] = []
    longest = 0
    for i in order:
        n = int(lengths[i])
        if cur and (len(cur) + 1 > max_items or (len(cur) + 1) * max(longest, n) > frame_budget):
            batches.append(np.array(cur, dtype=np.int64))
            cur, longest = [], 0
        cur.append(int(i))
        longest = max(longest, n)
    if cur:
        batches.append(np.array(cur, dtype=np.int64))
    return batches


class EpochBatches:
    """The batch of every (step, rank): epoch ``step // steps_per_epoch``, batches shuffled with
    ``seed + epoch`` and dealt round-robin to ``world`` ranks (each rank gets the same count)."""

    def __init__(self, batches: list[np.ndarray], seed: int, rank: int = 0, world: int = 1):
        if len(batches) < world:
            raise ValueError(f"{len(batches)} batch(es) cannot feed {world} processes: prepare more data "
                             f"or lower the frame budget")
        self.batches = batches
        self.seed = seed
        self.rank = rank
        self.world = world
        self.steps_per_epoch = len(batches) // world

    def order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.batches))

    def __call__(self, step: int) -> np.ndarray:
        epoch, k = divmod(step, self.steps_per_epoch)
        mine = self.order(epoch)[self.rank::self.world][: self.steps_per_epoch]
        return self.batches[int(mine[k])]
