"""Data-parallel training under ``torchrun`` (or any launcher that sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).

``zoo.finetune`` joins the process group the launcher describes (NCCL on CUDA, gloo
on CPU) unless one is initialised already. It keeps the group for later calls and
leaves it when the process exits (re-creating a group in the same process is not
reliable under ``torchrun``'s store). Each
process takes its share of every global batch; gradients are averaged by
``DistributedDataParallel``; the loss of each share is scaled so that the average is
the mean over the global batch, whatever the split. Metrics are summed over the
processes; checkpoints and registration happen on rank 0.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as td

__all__ = ["Dist", "setup"]


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        if not self.enabled:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=device)
        td.all_reduce(t, op=td.ReduceOp.SUM)
        return t.tolist()

    def barrier(self) -> None:
        if self.enabled:
            td.barrier()

    def broadcast(self, obj: Any) -> Any:
        if not self.enabled:
            return obj
        box = [obj]
        td.broadcast_object_list(box, src=0)
        return box[0]

    def all_gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        if not self.enabled:
            return [tensor]
        out = [torch.empty_like(tensor) for _ in range(self.world)]
        td.all_gather(out, tensor.contiguous())
        return out

    def close(self) -> None:
        pass  # the group stays for the next call; _leave() runs at exit


def _leave() -> None:
    if td.is_available() and td.is_initialized():
        td.destroy_process_group()


def setup(want_cuda: bool) -> Dist:
    if not td.is_available():
        return Dist()
    if td.is_initialized():
        return Dist(td.get_rank(), td.get_world_size(), int(os.environ.get("LOCAL_RANK", td.get_rank())))
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return Dist()
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    backend = "nccl" if want_cuda and torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local)
    td.init_process_group(backend=backend, rank=rank, world_size=world)
    atexit.register(_leave)
    return Dist(rank, world, local, owns_group=True)
