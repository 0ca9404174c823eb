"""Two gloo processes must give the joint batch's loss and gradients (issue: gather with grads)."""

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from maskfuse.objectives.infonce import InfoNCE

WORLD, B, D, T = 2, 4, 6, 0.3


def _worker(rank: int, folder: str, z1: torch.Tensor, z2: torch.Tensor) -> None:
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=WORLD)
    try:
        a = z1[rank * B : (rank + 1) * B].clone().requires_grad_(True)
        b = z2[rank * B : (rank + 1) * B].clone().requires_grad_(True)
        loss = InfoNCE(T, gather=True)(a, b).loss
        loss.backward()
        torch.save({"loss": loss.detach(), "g1": a.grad, "g2": b.grad}, f"{folder}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_ranks_equal_one_process_on_the_joint_batch(tmp_path):
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(WORLD * B, D, generator=g), torch.randn(WORLD * B, D, generator=g)
    mp.spawn(_worker, args=(str(tmp_path), z1, z2), nprocs=WORLD, join=True)

    j1, j2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    joint = InfoNCE(T, gather=True)(j1, j2).loss  # no process group: plain single-process loss
    joint.backward()
    # DDP averages parameter gradients over ranks, so the joint loss is the mean of the
    # rank losses and each rank's row gradients are W times the joint ones.
    parts = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    assert torch.allclose(torch.stack([p["loss"] for p in parts]).mean(), joint.detach(), atol=1e-6)
    assert torch.allclose(torch.cat([p["g1"] for p in parts]) / WORLD, j1.grad, atol=1e-6)
    assert torch.allclose(torch.cat([p["g2"] for p in parts]) / WORLD, j2.grad, atol=1e-6)
