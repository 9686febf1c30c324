"""torch.distributed plumbing: one code path for 1 process, torchrun on CPU (gloo) and GPU (nccl)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(pref: str, local_rank: int = 0) -> torch.device:
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "cpu"
    if pref == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' requested but CUDA is not available")
        return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return torch.device(pref)


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group torchrun set up (env:// rendezvous), or run as a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return DistInfo(rank=rank, world_size=world, local_rank=local_rank, device=dev)


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over ranks (identity for a single process); returns a new tensor."""
    t = t.clone()
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def barrier() -> None:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


def epoch_order(size: int, *, seed: int, epoch: int) -> list[int]:
    """The training order of one epoch: a permutation that depends only on (seed, epoch)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(size, generator=g).tolist()


class GlobalBatchSampler(Sampler[list[int]]):
    """Training batches of one rank, cut from global batches of ``global_batch`` samples.

    Each epoch's order depends only on (seed, epoch) and is cut into whole global batches (the
    remainder is dropped). At step s, rank r takes positions r, r + world, ... of global batch s,
    so the ranks together see exactly the batch a single process would, even when the global
    batch does not divide evenly (the paper's 33 on 4 GPUs gives 9, 8, 8, 8).
    """

    def __init__(
        self, size: int, *, global_batch: int, rank: int = 0, world_size: int = 1, seed: int = 0
    ) -> None:
        if global_batch < world_size:
            raise ValueError(f"global batch {global_batch} is smaller than the {world_size} ranks")
        self.size = size
        self.global_batch = global_batch
        self.rank = rank
        self.world = world_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size // self.global_batch

    def __iter__(self) -> Iterator[list[int]]:
        order = epoch_order(self.size, seed=self.seed, epoch=self.epoch)
        for s in range(len(self)):
            yield order[s * self.global_batch : (s + 1) * self.global_batch][self.rank :: self.world]


class ShardSampler(Sampler[int]):
    """Evaluation indices of one rank: rank, rank + world, ... with no padding, so no sample is
    counted twice when metrics are summed over ranks."""

    def __init__(self, size: int, *, rank: int = 0, world_size: int = 1) -> None:
        self.size = size
        self.rank = rank
        self.world = world_size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.size, self.world))

    def __len__(self) -> int:
        return math.ceil(max(0, self.size - self.rank) / self.world)
