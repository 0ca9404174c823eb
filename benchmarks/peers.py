"""Training-step throughput against the peers, at one identical config, in one invocation.

Usage:
    .venv/bin/python benchmarks/peers.py [--rounds 3] [--steps 20] [--device cpu|cuda] [--precision fp32|bf16]
        [--batch 64] [--out benchmarks/results/peers_cpu.json]

The config (issue 7): MAE with a ViT-Tiny encoder (32x32x3 input, patch 4 -> 64 tokens,
192 wide, 12 deep, 3 heads, MLP 4x), decoder 128 wide, 4 deep, 4 heads, mask 0.75,
per-patch normalised pixel targets, AdamW, batch 64. SimCLR: the same encoder, a
256 -> 64 projection head, two views per image, NT-Xent at T = 0.2.

Sides, each in a fresh process, alternated round by round:
- maskfuse-mae / maskfuse-simclr: `maskfuse.train.loop.train_step` on the built method
  (the real step: lr schedule, autocast, grad clipping; SimCLR includes its batched
  augmentation on the device, which the peers below get for free);
- hf-vitmae: Hugging Face `ViTMAEForPreTraining` with the same sizes;
- lightly-mae: lightly's MAE example (`MaskedVisionTransformerTIMM` over a timm ViT,
  `MAEDecoderTIMM`, MSE on masked patches);
- lightly-simclr: lightly's SimCLR example (timm ViT, `SimCLRProjectionHead`, `NTXentLoss`)
  on two pre-made views;
- maskfuse-mae+compile / +checkpointing (opt-in sides): the same step with
  `train.compile` (each block through torch.compile) or `train.checkpointing`;
- matmul: the hardware reference, the best fp32 (or bf16) GEMM rate of 2048^3 products.

FLOPs of one step (forward + backward) come from `torch.utils.flop_counter`; share of
peak = FLOPs/step x steps/s / matmul rate measured in the same round. The peers are
never maskfuse dependencies: on the CPU the script creates `benchmarks/.peers/venv`
with torch 2.14.1, torchvision, lightly, timm and transformers (and maskfuse, editable)
and runs every side there, so all sides share one torch build.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "benchmarks" / ".peers" / "venv"
PEERS = ["torch==2.14.1", "torchvision==0.29.1", "lightly", "timm", "transformers"]
SIDES = ["matmul", "maskfuse-mae", "hf-vitmae", "lightly-mae", "maskfuse-simclr", "lightly-simclr"]
ENC = {"dim": 192, "depth": 12, "heads": 3, "patch": 4, "size": 32}
DEC = {"dim": 128, "depth": 4, "heads": 4}
MASK, TEMP, PROJ_HIDDEN, PROJ_DIM = 0.75, 0.2, 256, 64


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEERS], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT)], check=True)
    return python


# ----------------------------------------------------------------- the sides (run in a child process)


def maskfuse_step(method: str, batch: int, device, precision: str):
    from maskfuse.config import resolve
    from maskfuse.methods.build import build_method
    from maskfuse.train.loop import train_step
    from maskfuse.train.optim import build_optimizer
    from maskfuse.types import DataSpec

    cfg = resolve(method, [
        f"model.dim={ENC['dim']}", f"model.depth={ENC['depth']}", f"model.heads={ENC['heads']}",
        f"image.patch_size={ENC['patch']}", f"decoder.dim={DEC['dim']}", f"decoder.depth={DEC['depth']}",
        f"decoder.heads={DEC['heads']}", f"mask.ratio={MASK}", f"contrastive.temperature={TEMP}",
        f"contrastive.proj_hidden={PROJ_HIDDEN}", f"contrastive.proj_dim={PROJ_DIM}",
        f"train.batch_size={batch}", f"train.precision={precision}", "train.steps=100000",
    ])  # fmt: skip
    spec = DataSpec("image", (3, ENC["size"], ENC["size"]), (0.5,) * 3, (0.25,) * 3)
    model = build_method(cfg, spec).to(device)
    opt = build_optimizer(model, cfg.train)
    x = torch.rand(batch, 3, ENC["size"], ENC["size"], device=device)
    state = {"step": 0}

    def step():
        train_step(model, opt, {"image": x}, state["step"], cfg)
        state["step"] += 1

    return model, step


def hf_step(batch: int, device, precision: str):
    from transformers import ViTMAEConfig, ViTMAEForPreTraining

    config = ViTMAEConfig(
        image_size=ENC["size"], patch_size=ENC["patch"], num_channels=3, hidden_size=ENC["dim"],
        num_hidden_layers=ENC["depth"], num_attention_heads=ENC["heads"], intermediate_size=4 * ENC["dim"],
        decoder_hidden_size=DEC["dim"], decoder_num_hidden_layers=DEC["depth"],
        decoder_num_attention_heads=DEC["heads"], decoder_intermediate_size=4 * DEC["dim"], mask_ratio=MASK,
        norm_pix_loss=True, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    model = ViTMAEForPreTraining(config).to(device)
    return model, plain_step(model, lambda x: model(pixel_values=x).loss, batch, device, precision)


def lightly_mae(batch: int, device, precision: str):
    from lightly.models import utils
    from lightly.models.modules import MAEDecoderTIMM, MaskedVisionTransformerTIMM
    from timm.models.vision_transformer import VisionTransformer

    vit = VisionTransformer(img_size=ENC["size"], patch_size=ENC["patch"], embed_dim=ENC["dim"], depth=ENC["depth"],
                            num_heads=ENC["heads"], num_classes=0)  # fmt: skip

    class MAE(torch.nn.Module):  # lightly's examples/pytorch/mae.py, at this config
        def __init__(self):
            super().__init__()
            self.backbone = MaskedVisionTransformerTIMM(vit=vit)
            self.sequence_length = self.backbone.sequence_length
            self.decoder = MAEDecoderTIMM(num_patches=vit.patch_embed.num_patches, patch_size=ENC["patch"],
                                          embed_dim=ENC["dim"], decoder_embed_dim=DEC["dim"],
                                          decoder_depth=DEC["depth"], decoder_num_heads=DEC["heads"])  # fmt: skip

        def forward(self, images):
            n = images.shape[0]
            keep, masked = utils.random_token_mask((n, self.sequence_length), MASK, device=images.device)
            encoded = self.backbone.encode(images=images, idx_keep=keep)
            tokens = utils.repeat_token(self.decoder.mask_token, (n, self.sequence_length))
            tokens = utils.set_at_index(tokens, keep, self.decoder.embed(encoded).type_as(tokens))
            pred = self.decoder.predict(utils.get_at_index(self.decoder.decode(tokens), masked))
            target = utils.get_at_index(utils.patchify(images, ENC["patch"]), masked - 1)
            mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
            return torch.nn.functional.mse_loss(pred, (target - mean) / (var + 1e-6) ** 0.5)

    model = MAE().to(device)
    return model, plain_step(model, model, batch, device, precision)


def lightly_simclr(batch: int, device, precision: str):
    from lightly.loss import NTXentLoss
    from lightly.models.modules import SimCLRProjectionHead
    from timm.models.vision_transformer import VisionTransformer

    vit = VisionTransformer(img_size=ENC["size"], patch_size=ENC["patch"], embed_dim=ENC["dim"], depth=ENC["depth"],
                            num_heads=ENC["heads"], num_classes=0, global_pool="avg")  # fmt: skip
    model = torch.nn.ModuleDict({"backbone": vit, "head": SimCLRProjectionHead(ENC["dim"], PROJ_HIDDEN, PROJ_DIM)})
    model = model.to(device)
    loss = NTXentLoss(temperature=TEMP)
    views = torch.rand(2, batch, 3, ENC["size"], ENC["size"], device=device)

    def forward(_):
        z0, z1 = (model["head"](model["backbone"](v)) for v in views)
        return loss(z0, z1)

    return model, plain_step(model, forward, batch, device, precision)


def plain_step(model, forward, batch: int, device, precision: str):
    opt = torch.optim.AdamW(model.parameters(), lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05)
    x = torch.rand(batch, 3, ENC["size"], ENC["size"], device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            loss = forward(x)
        loss.backward()
        opt.step()

    return step


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_rate(device, precision: str, steps: int) -> dict:
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    n = 8192 if device.type == "cuda" else 2048
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    best = 0.0
    for _ in range(max(3, steps // 4)):
        sync(device)
        t0 = time.perf_counter()
        a @ b
        sync(device)
        best = max(best, 2 * n**3 / (time.perf_counter() - t0))
    return {"gflops": best / 1e9}


def run_side(side: str, steps: int, batch: int, device_name: str, precision: str) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    from maskfuse.nn.block import configure_blocks

    device = torch.device(device_name)
    torch.manual_seed(0)
    if side == "matmul":
        return matmul_rate(device, precision, steps)
    build = {
        "maskfuse-mae": lambda: maskfuse_step("mae", batch, device, precision),
        "maskfuse-mae+compile": lambda: maskfuse_step("mae", batch, device, precision),
        "maskfuse-mae+checkpointing": lambda: maskfuse_step("mae", batch, device, precision),
        "maskfuse-simclr": lambda: maskfuse_step("simclr", batch, device, precision),
        "hf-vitmae": lambda: hf_step(batch, device, precision),
        "lightly-mae": lambda: lightly_mae(batch, device, precision),
        "lightly-simclr": lambda: lightly_simclr(batch, device, precision),
    }[side]
    model, step = build()
    model.train()
    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()  # of the plain step: recomputation under checkpointing is not useful work
    configure_blocks(model, side.endswith("+checkpointing"), side.endswith("+compile"))
    for _ in range(6 if side.endswith("+compile") else 3):
        step()
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = time.perf_counter() - t0
    out = {"img_per_s": steps * batch / seconds, "gflop_per_step": flops / 1e9, "step_ms": 1e3 * seconds / steps}
    if device.type == "cuda":
        out["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


# ----------------------------------------------------------------- the orchestrator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per side")
    parser.add_argument("--python", help="interpreter with the peers installed (default: benchmarks/.peers/venv)")
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--out", default=None)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # child: one side, one JSON line
        torch.set_num_threads(args.threads)
        print(json.dumps(run_side(args.side, args.steps, args.batch, args.device, args.precision)))
        return
    python = args.python or str(ensure_venv())
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p),
    }
    sides = args.sides.split(",")
    runs: dict[str, list[dict]] = {s: [] for s in sides}
    for r in range(args.rounds):
        for side in sides if r % 2 == 0 else list(reversed(sides)):
            cmd = [python, __file__, "--side", side, "--steps", str(args.steps), "--batch", str(args.batch),
                   "--device", args.device, "--precision", args.precision, "--threads", str(args.threads)]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode:
                print(done.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"side {side} failed")
            runs[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1} {side}: {runs[side][-1]}", flush=True)
    peak = statistics.median(x["gflops"] for x in runs.get("matmul", [])) if "matmul" in runs else None
    summary = {}
    for side in sides:
        if side == "matmul":
            continue
        rate = statistics.median(x["img_per_s"] for x in runs[side])
        gflop = runs[side][0]["gflop_per_step"]
        row = {"img_per_s": round(rate, 1), "gflop_per_step": round(gflop, 2)}
        if peak:
            row["share_of_matmul_peak"] = round(gflop * rate / args.batch / peak, 3)
        summary[side] = row
    for ours, theirs in (
        ("maskfuse-mae", ("hf-vitmae", "lightly-mae")),
        ("maskfuse-mae+compile", ("maskfuse-mae", "hf-vitmae", "lightly-mae")),
        ("maskfuse-mae+checkpointing", ("maskfuse-mae",)),
        ("maskfuse-simclr", ("lightly-simclr",)),
    ):
        for peer in theirs:
            if ours in summary and peer in summary:
                summary[ours][f"x_{peer}"] = round(summary[ours]["img_per_s"] / summary[peer]["img_per_s"], 3)
    probe = subprocess.run([python, "-c", "import torch;print(torch.__version__)"], capture_output=True, text=True)
    payload = {
        "benchmark": f"MAE / SimCLR step, ViT-Tiny 32x32 patch 4, batch {args.batch}, {args.device} {args.precision}",
        "torch": probe.stdout.strip(), "threads": args.threads, "rounds": args.rounds, "steps": args.steps,
        "matmul_peak_gflops": round(peak, 1) if peak else None, "summary": summary, "runs": runs,
    }  # fmt: skip
    print(json.dumps(payload["summary"], indent=1))
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"peers_{args.device}_{args.precision}.json")
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
