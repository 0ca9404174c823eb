"""Two gloo processes under the real training loop equal one process on the joint batch."""

import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from maskfuse import checkpoint
from maskfuse.data import load_data
from maskfuse.data.base import ArrayDataset, Splits
from maskfuse.distributed import init_world, mean_over_ranks, shard, wrap
from maskfuse.errors import ConfigError
from maskfuse.methods.build import build_method
from maskfuse.registry import MODALITIES
from maskfuse.train.loop import fit, train_step
from maskfuse.train.optim import build_optimizer
from maskfuse.train.setup import training_splits
from tests.conftest import rotten_tomatoes, small_config
from tests.methods.test_paired import paired_data

WORLD = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def guided(s: Splits, tokens: int) -> Splits:
    """`s` with fixed per-token scores: the guided sampler masks the same tokens on any
    number of ranks, so a reconstruction run is deterministic per row."""
    g = torch.Generator().manual_seed(0)
    for name in ("train", "test"):
        ds = getattr(s, name)
        scores = {"mask_scores": torch.rand(len(ds), tokens, generator=g)}
        setattr(s, name, ArrayDataset(ds.inputs, ds.labels, ds.modality, scores))
    return s


def guided_digits() -> Splits:
    return guided(load_data(small_config().data), 16)


def guided_points() -> Splits:
    """The points folder's contract clouds (FPS groups, per-sample centre positions)."""
    return guided(MODALITIES.get("points").contract_example()[0], 8)


CASES = {
    "mae": (lambda: small_config("mae", s="mask.sampler=guided", r="mask.ratio=0.5"), guided_digits),
    "data2vec": (lambda: small_config("data2vec", s="mask.sampler=guided", r="mask.ratio=0.5"), guided_digits),
    "point-mae": (
        lambda: small_config(
            "mae", s="mask.sampler=guided", r="mask.ratio=0.5", g="points.groups=8", k="points.group_size=8"
        ),
        guided_points,
    ),  # fmt: skip
    "clip": (
        lambda: small_config("clip", a="audio.n_mels=16", m="data.max_seconds=0.25", b="train.batch_size=16"),
        paired_data,
    ),  # fmt: skip
}


def _fit_worker(rank, port, case, folder, steps, extra):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    torch.set_num_threads(1)
    try:
        run(case, folder, steps, **extra)
    finally:
        torch.distributed.destroy_process_group()


def run(case, folder, steps, world=1, fsdp=False, stop_after=None, resume=False):
    """The real training loop (`fit`) on one process, or on `world` gloo processes."""
    if world > 1:
        extra = {"fsdp": fsdp, "stop_after": stop_after, "resume": resume}
        mp.spawn(_fit_worker, args=(free_port(), case, folder, steps, extra), nprocs=world, join=True)
        return
    make_cfg, make_data = CASES[case]
    cfg = make_cfg()
    cfg.train.steps, cfg.train.log_every, cfg.train.monitor_every = steps, 1, 0
    cfg.train.fsdp, cfg.train.stop_after = fsdp, stop_after
    fit(cfg, folder, resume=resume, splits=make_data())


def step_gradients(case, out=None):
    """Loss and parameter gradients of one forward / backward of the first 16 training
    rows, through the DDP wrapper when torch.distributed is initialised (each rank its
    half)."""
    make_cfg, make_data = CASES[case]
    cfg, data = make_cfg(), make_data()
    world = init_world(torch.device("cpu"))
    model = build_method(cfg, data.spec)
    torch.manual_seed(5)
    net = wrap(model, world)  # held until backward: DDP's reducer lives in the wrapper
    loss = net(data.train.batch(shard(torch.arange(16), world))).loss
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}  # an EMA teacher has none
    result = {"loss": mean_over_ranks(loss, world), "grads": grads}
    if out is not None:
        torch.save(result, out)
    return result


def _grad_worker(rank, port, case, out):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    torch.set_num_threads(1)
    try:
        step_gradients(case, out if rank == 0 else None)
    finally:
        torch.distributed.destroy_process_group()


def weights(folder):
    return load_file(str(checkpoint.latest(folder) / "model.safetensors"))


def losses(folder):
    return [json.loads(line)["loss"] for line in (folder / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_ranks_give_the_joint_batch_loss_and_gradients(case, tmp_path):
    """DDP averages gradients; contrastive negatives, presence flags and BatchNorm
    statistics are gathered from both ranks. Agreement is to float summation order
    (the BatchNorm backward cancels large terms: up to ~2e-5 on the clip case)."""
    mp.spawn(_grad_worker, args=(free_port(), case, tmp_path / "ddp.pt"), nprocs=WORLD, join=True)
    two = torch.load(tmp_path / "ddp.pt", weights_only=True)
    one = step_gradients(case)
    assert torch.allclose(two["loss"], one["loss"], rtol=1e-6)
    for name, grad in one["grads"].items():
        assert grad is not None, name
        assert torch.allclose(two["grads"][name], grad, rtol=1e-4, atol=5e-5), name


def test_two_ranks_train_like_one_process(tmp_path):
    """The real loop: two gloo ranks and one process take the same step on the same
    global batch; the logged loss is the joint one and only rank 0 writes."""
    run("mae", tmp_path / "two", 1, WORLD)
    run("mae", tmp_path / "one", 1)
    np.testing.assert_allclose(losses(tmp_path / "two"), losses(tmp_path / "one"), rtol=1e-6)
    a, b = weights(tmp_path / "two"), weights(tmp_path / "one")
    assert a.keys() == b.keys() and max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-5
    assert len(losses(tmp_path / "two")) == 1  # one writer: rank 0


def test_resume_under_another_world_size(tmp_path):
    """Two ranks stop after 1 of 2 steps; one process resumes the second and lands where
    one process running both does (the global batch order does not depend on ranks)."""
    make_cfg, make_data = CASES["mae"]
    cfg = make_cfg()
    cfg.train.steps, cfg.train.stop_after, cfg.train.monitor_every, cfg.train.log_every = 2, 1, 0, 1

    mp.spawn(_stop_worker, args=(free_port(), tmp_path / "split", cfg), nprocs=WORLD, join=True)
    cfg.train.stop_after = None
    fit(cfg, tmp_path / "split", resume=True, splits=make_data())
    fit(cfg, tmp_path / "straight", splits=make_data())
    a, b = weights(tmp_path / "split"), weights(tmp_path / "straight")
    # 1e-4, not 1e-5: attention key biases have zero gradient in exact arithmetic, and
    # Adam's second step turns their rounding noise into ~2e-5 moves (measured)
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-4
    assert len(losses(tmp_path / "split")) == 2


def _stop_worker(rank, port, folder, cfg):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    torch.set_num_threads(1)
    try:
        fit(cfg, folder, splits=CASES["mae"][1]())
    finally:
        torch.distributed.destroy_process_group()


def test_fsdp_trains_and_resumes_like_one_process(tmp_path):
    """FSDP2 on two gloo ranks: the same steps as one process; its checkpoints hold full
    tensors, so a sharded run resumes unsharded and an unsharded one resumes sharded."""
    run("mae", tmp_path / "one", 2)
    run("mae", tmp_path / "fsdp", 2, WORLD, fsdp=True)
    np.testing.assert_allclose(losses(tmp_path / "fsdp"), losses(tmp_path / "one"), rtol=1e-6)
    a, b = weights(tmp_path / "fsdp"), weights(tmp_path / "one")
    assert a.keys() == b.keys() and max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-4
    run("mae", tmp_path / "a", 2, WORLD, fsdp=True, stop_after=1)  # sharded, then unsharded
    run("mae", tmp_path / "a", 2, resume=True)
    run("mae", tmp_path / "b", 2, stop_after=1)  # unsharded, then sharded
    run("mae", tmp_path / "b", 2, WORLD, fsdp=True, resume=True)
    for folder in ("a", "b"):
        c = weights(tmp_path / folder)
        assert max(float((c[k] - b[k]).abs().max()) for k in b) < 1e-4, folder
        assert len(losses(tmp_path / folder)) == 2


def test_fsdp_updates_an_ema_teacher_like_one_process(tmp_path):
    """data2vec's EMA teacher follows the sharded student: the same losses and weights
    (the teacher's included) as one process."""
    run("data2vec", tmp_path / "one", 3)
    run("data2vec", tmp_path / "fsdp", 3, WORLD, fsdp=True)
    np.testing.assert_allclose(losses(tmp_path / "fsdp"), losses(tmp_path / "one"), rtol=1e-5)
    a, b = weights(tmp_path / "fsdp"), weights(tmp_path / "one")
    assert any(k.startswith("teacher.") for k in a) and a.keys() == b.keys()
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-4


def test_fsdp_needs_several_processes():
    with pytest.raises(ConfigError, match="train.fsdp shards over several processes"):
        run("mae", None, 1, fsdp=True)


def test_gradient_accumulation_matches_the_whole_batch(tmp_path):
    """Two micro-batches of a reconstruction loss give the whole batch's gradients."""
    make_cfg, make_data = CASES["mae"]
    data = make_data()
    grads = []
    for parts in (1, 2):
        cfg = make_cfg()
        cfg.train.accumulate = parts
        model = build_method(cfg, data.spec)
        opt = build_optimizer(model, cfg.train)
        out = train_step(model, opt, data.train.batch(torch.arange(16)), 0, cfg)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        assert torch.isfinite(out.loss)
    for name, g in grads[0].items():
        assert torch.allclose(grads[1][name], g, rtol=1e-4, atol=1e-6), name
    with pytest.raises(ConfigError, match="must divide"):
        cfg.train.accumulate = 3
        train_step(model, opt, data.train.batch(torch.arange(16)), 0, cfg)


def test_torchrun_from_the_command_line(tmp_path):
    """`torchrun --nproc-per-node 2 -m maskfuse pretrain ...` on CPU (gloo)."""
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(free_port()),
           "-m", "maskfuse", "pretrain", "--out", str(run_dir), "train.steps=3", "train.batch_size=32",
           "train.progress=false", "model.depth=1", "train.monitor_every=0", "train.log_every=1"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(losses(run_dir)) == 3 and checkpoint.latest(run_dir) is not None
    no_out = [sys.executable, "-m", "maskfuse", "pretrain", "train.steps=1"]
    refused = subprocess.run(no_out, capture_output=True, text=True, env={**os.environ, "WORLD_SIZE": "2"})
    assert refused.returncode != 0 and "pass --out" in refused.stderr


def _splits_worker(rank, port, cfg, out):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    torch.set_num_threads(1)
    try:
        device = torch.device("cpu")
        splits = training_splits(cfg, out, False, init_world(device), device)
        (out / f"rank{rank}.json").write_text(json.dumps(splits.spec.to_dict()))
        torch.save(splits.train.inputs[:64], out / f"rank{rank}.pt")
    finally:
        torch.distributed.destroy_process_group()


def test_every_rank_reads_text_through_the_main_ranks_tokenizer(tmp_path):
    """WordPiece training is not deterministic, so ranks that each trained one could give
    the same words other ids; every rank uses rank 0's, sent as bytes."""
    path = rotten_tomatoes(tmp_path, rows=300)
    cfg = small_config(d="data.name=text", p=f"data.path={path}", l="data.label_column=sentiment")
    mp.spawn(_splits_worker, args=(free_port(), cfg, tmp_path), nprocs=WORLD, join=True)
    specs = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    assert specs[0]["meta"]["encoding"] and specs[1] == specs[0]
    assert torch.equal(torch.load(tmp_path / "rank1.pt"), torch.load(tmp_path / "rank0.pt"))


def _record_seeds(folder, rank):
    """Run two MAE steps with random masks through the real loop, noting the seed each
    step's draws start from."""
    import maskfuse.train.loop as loop

    seeds, real = [], loop.train_step

    def spy(*args, **kwargs):
        seeds.append(torch.initial_seed())
        return real(*args, **kwargs)

    loop.train_step = spy
    try:
        cfg = small_config("mae")
        cfg.train.steps, cfg.train.monitor_every = 2, 0
        fit(cfg, folder, splits=load_data(cfg.data))
    finally:
        loop.train_step = real
    (folder.parent / f"seeds{rank}.json").write_text(json.dumps(seeds))


def _seed_worker(rank, port, folder):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    torch.set_num_threads(1)
    try:
        _record_seeds(folder, rank)
    finally:
        torch.distributed.destroy_process_group()


def test_every_rank_draws_its_own_masks_and_views(tmp_path):
    """Ranks seed each step from their own stream, so they do not repeat each other's
    masks and augmentations; rank 0's stream is the one a single process uses."""
    mp.spawn(_seed_worker, args=(free_port(), tmp_path / "two" / "run"), nprocs=WORLD, join=True)
    _record_seeds(tmp_path / "one" / "run", 0)
    ranks = [json.loads((tmp_path / "two" / f"seeds{r}.json").read_text()) for r in range(WORLD)]
    alone = json.loads((tmp_path / "one" / "seeds0.json").read_text())
    assert len(ranks[0]) == len(ranks[1]) == 2
    assert ranks[0] == alone and all(a != b for a, b in zip(ranks[0], ranks[1]))
    masks = []
    for seed in ranks[1][0], ranks[0][0]:
        torch.manual_seed(seed)
        masks.append(torch.rand(4, 16).argsort(1))  # what the random sampler draws from
    assert not torch.equal(*masks)
