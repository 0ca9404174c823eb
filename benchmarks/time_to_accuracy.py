"""Time to accuracy on Fashion-MNIST or CIFAR-10, 2 CPU cores: maskfuse's recipes against
lightly's SimCLR and MAE examples adapted to 28x28 (or 32x32 RGB).

Usage:
    .venv/bin/python benchmarks/time_to_accuracy.py [--budget 480] [--marks 4]
        [--sides maskfuse-simclr,maskfuse-mae,lightly-simclr,lightly-mae] [--dataset cifar10]
    python3 benchmarks/time_to_accuracy.py --device cuda --threads 8 --workers 6 --size tiny \
        --python python3 --data FOLDER   # on a GPU machine whose python3 holds the peers

`--size tiny` gives both ViTs (maskfuse's and lightly's MAE) 192 width, 12 blocks and 3
heads instead of nano's 64 / 4 / 4; `--workers` sets lightly's DataLoader workers.

Each side trains in its own process (in `benchmarks/.peers/venv`, see peers.py) for
`--budget` seconds of training wall-clock on the 60k training images, batch 256, and
keeps a copy of its encoder at `--marks` evenly spaced moments. Afterwards (not
counted) every copy embeds the 60k/10k images and the same probe scores it: maskfuse's
L-BFGS logistic regression on standardised features, L2 chosen on 10 % of the training
rows. Reported: the probe accuracy at each mark and the first mark reaching 85 % / 88 %.

Sides:
- maskfuse-simclr / maskfuse-mae: the Fashion-MNIST rows of BENCHMARKS.md (nano trunk,
  7x7 patches; SimCLR T = 0.2; MAE raw pixels, mask 0.5), a cosine schedule sized to the
  budget from the time of steps 10-30; embedding = the concatenated token means of the
  last 4 blocks (what `maskfuse evaluate`'s linear probe picked for both in BENCHMARKS.md).
- lightly-simclr: lightly's examples/pytorch/simclr.py: torchvision ResNet-18 without its
  classifier, `SimCLRProjectionHead(512, 512, 128)`, `NTXentLoss`, SGD lr 0.06,
  `SimCLRTransform(input_size=28, gaussian_blur=0)` on RGB copies in one DataLoader
  worker (the two cores are shared with training); embedding = the 512-d pooled output.
- lightly-mae: lightly's examples/pytorch/mae.py (`MaskedVisionTransformerTIMM`,
  `MAEDecoderTIMM`, mask 0.75, AdamW lr 1.5e-4, `MAETransform(input_size=28)`), with the
  ViT-B/32 for 224 px shrunk to maskfuse's nano size for 28 px (64 wide, 4 deep, 4
  heads, patch 7, decoder 64 wide, 2 deep), since a ViT-B takes ~6 s a step here;
  embedding = the class token.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
SIDES = ["maskfuse-simclr", "lightly-simclr", "maskfuse-mae", "lightly-mae"]
BATCH = 256


SIZES = {"nano": (64, 4, 4), "tiny": (192, 12, 3)}  # width, blocks, heads
OPTS = argparse.Namespace(device="cpu", data=None, size="nano", workers=1, precision="fp32", dataset="fashion-mnist")
PATCH = {"fashion-mnist": 7, "cifar10": 8}  # 16 tokens each: at a CPU budget the steps matter more (BENCHMARKS.md)


def fashion():
    """The dataset's 60k / 10k (Fashion-MNIST) or 50k / 10k (CIFAR-10, its JPEG folders) in memory."""
    from maskfuse.config import resolve
    from maskfuse.data import load_data

    if OPTS.dataset == "cifar10":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from quality import cifar10_folder

        where = ["data.name=image-folder", f"data.path={OPTS.data or cifar10_folder()}"]
    else:
        where = ["data.name=fashion-mnist", *([f"data.path={OPTS.data}"] if OPTS.data else [])]
    return load_data(resolve(overrides=where).data)


class Clock:
    """Training wall-clock with marks: `due()` says when to keep a copy of the encoder."""

    def __init__(self, budget: float, marks: int) -> None:
        self.budget, self.marks, self.spent, self.kept = budget, marks, 0.0, []

    def due(self) -> bool:
        return self.spent >= self.budget * (len(self.kept) + 1) / self.marks

    def done(self) -> bool:
        return len(self.kept) >= self.marks


def maskfuse_side(method: str, budget: float, marks: int):
    from maskfuse.config import resolve
    from maskfuse.evaluate.features import pooling_variants
    from maskfuse.methods.build import build_method
    from maskfuse.train.batches import BatchOrder
    from maskfuse.train.loop import train_step
    from maskfuse.train.optim import build_optimizer

    extra = ["image.norm_pix=false", "mask.ratio=0.5"] if method == "mae" else []
    dim, depth, heads = SIZES[OPTS.size]
    size = [f"model.dim={dim}", f"model.depth={depth}", f"model.heads={heads}"] if OPTS.size != "nano" else []
    cfg = resolve(method, [f"image.patch_size={PATCH[OPTS.dataset]}", f"train.batch_size={BATCH}", "train.steps=100000",
                           *extra, *size,
                           f"train.device={OPTS.device}", f"train.precision={OPTS.precision}"])  # fmt: skip
    data = fashion()
    device = torch.device(OPTS.device)
    model = build_method(cfg, data.spec).to(device)
    train_x = data.train.inputs.to(device)
    opt = build_optimizer(model, cfg.train)
    order = BatchOrder(len(data.train), BATCH, 0)
    clock, step = Clock(budget, marks), 0
    while not clock.done():
        t0 = time.perf_counter()
        torch.manual_seed(step)
        train_step(model, opt, {"image": train_x[order.indices(step).to(device)]}, step, cfg)
        step += 1
        sync(device)
        clock.spent += time.perf_counter() - t0
        if step == 10:
            settled = clock.spent
        if step == 30:  # size the cosine schedule to the budget from steps 10-30 (a GPU's first steps are slow)
            cfg.train.steps = step + int((budget - clock.spent) * 20 / (clock.spent - settled))
        if clock.due():
            clock.kept.append((clock.spent, step, copy.deepcopy(model.backbone).eval()))

    def embed(enc, x):  # what `maskfuse evaluate`'s linear probe chose on this data: the 2x2 cells of the last 4
        return pooling_variants(enc, x.to(device), 4)["grid-last4"]

    return clock.kept, embed, (data.train.inputs, data.test.inputs), (data.train.labels, data.test.labels)


class Images(torch.utils.data.Dataset):
    """[N, C, H, W] floats in [0, 1] as RGB PIL images for lightly's transforms."""

    def __init__(self, x: torch.Tensor, transform) -> None:
        self.x, self.transform = (x.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy(), transform

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.x[i].squeeze(-1)).convert("RGB"))


def lightly_side(method: str, budget: float, marks: int):
    from lightly.loss import NTXentLoss
    from lightly.models import utils
    from lightly.models.modules import MAEDecoderTIMM, MaskedVisionTransformerTIMM, SimCLRProjectionHead
    from lightly.transforms import MAETransform, SimCLRTransform
    from lightly.transforms.utils import IMAGENET_NORMALIZE
    from torchvision import transforms as T

    data = fashion()
    if method == "simclr":
        import torchvision

        resnet = torchvision.models.resnet18()
        backbone = torch.nn.Sequential(*list(resnet.children())[:-1], torch.nn.Flatten())
        head = SimCLRProjectionHead(512, 512, 128)
        model = torch.nn.ModuleDict({"backbone": backbone, "head": head})
        criterion = NTXentLoss()
        opt = torch.optim.SGD(model.parameters(), lr=0.06)
        side = data.spec.shape[-1]
        transform = SimCLRTransform(input_size=side, gaussian_blur=0.0)

        def loss_of(views):
            return criterion(*(head(backbone(v)) for v in views))

        encode = backbone
    else:
        from timm.models.vision_transformer import VisionTransformer

        dim, depth, heads = SIZES[OPTS.size]
        side, patch = data.spec.shape[-1], PATCH[OPTS.dataset]
        vit = VisionTransformer(img_size=side, patch_size=patch, embed_dim=dim, depth=depth, num_heads=heads,
                                num_classes=0)  # fmt: skip
        encoder = MaskedVisionTransformerTIMM(vit=vit)
        decoder = MAEDecoderTIMM(num_patches=(side // patch) ** 2, patch_size=patch, embed_dim=dim,
                                 decoder_embed_dim=64, decoder_depth=2, decoder_num_heads=4)  # fmt: skip
        model = torch.nn.ModuleDict({"backbone": encoder, "decoder": decoder})
        opt = torch.optim.AdamW(model.parameters(), lr=1.5e-4)
        transform = MAETransform(input_size=side)
        length = encoder.sequence_length

        def loss_of(views):
            images = views[0]
            n = len(images)
            keep, masked = utils.random_token_mask((n, length), 0.75, device=images.device)
            tokens = utils.repeat_token(decoder.mask_token, (n, length))
            tokens = utils.set_at_index(tokens, keep, decoder.embed(encoder.encode(images, idx_keep=keep)))
            pred = decoder.predict(utils.get_at_index(decoder.decode(tokens), masked))
            target = utils.get_at_index(utils.patchify(images, patch), masked - 1)
            return torch.nn.functional.mse_loss(pred, target)

        encode = encoder
    device = torch.device(OPTS.device)
    model.to(device)
    loader = torch.utils.data.DataLoader(Images(data.train.inputs, transform), batch_size=BATCH, shuffle=True,
                                         drop_last=True, num_workers=OPTS.workers, persistent_workers=True,
                                         pin_memory=device.type == "cuda")  # fmt: skip
    clock, step = Clock(budget, marks), 0
    while not clock.done():
        batches = iter(loader)
        t0 = time.perf_counter()
        for views in batches:
            with torch.autocast(device.type, torch.bfloat16, enabled=OPTS.precision == "bf16"):
                loss = loss_of([v.to(device, non_blocking=True) for v in views])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            sync(device)
            now = time.perf_counter()
            clock.spent, t0 = clock.spent + now - t0, now
            if clock.due():
                clock.kept.append((clock.spent, step, copy.deepcopy(encode).eval()))
                t0 = time.perf_counter()
            if clock.done():
                break
    norm = T.Normalize(IMAGENET_NORMALIZE["mean"], IMAGENET_NORMALIZE["std"])

    def embed(enc, x):
        return enc(norm(x.expand(-1, 3, -1, -1).to(device)))  # greyscale copied to RGB, as in training

    return clock.kept, embed, (data.train.inputs, data.test.inputs), (data.train.labels, data.test.labels)


@torch.no_grad()
def score(kept, embed, inputs, labels) -> list[dict]:
    from maskfuse.evaluate.linear import linear_probe

    out = []
    for seconds, step, enc in kept:
        feats = [torch.cat([embed(enc, x[i : i + 1000]).float() for i in range(0, len(x), 1000)]) for x in inputs]
        on = feats[0].device  # the probe fits where the features are
        acc = linear_probe(feats[0], labels[0].to(on), feats[1], labels[1].to(on)).accuracy
        out.append({"train_s": round(seconds, 1), "steps": step, "linear": round(acc, 4)})
        print(out[-1], file=sys.stderr, flush=True)
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def first_reaching(marks: list[dict], target: float) -> float | None:
    return next((m["train_s"] for m in marks if m["linear"] >= target), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=480)
    parser.add_argument("--marks", type=int, default=4)
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per side")
    parser.add_argument("--workers", type=int, default=1, help="lightly's DataLoader workers")
    parser.add_argument("--size", default="nano", choices=sorted(SIZES), help="the ViTs' width / depth / heads")
    parser.add_argument("--dataset", default="fashion-mnist", choices=sorted(PATCH))
    parser.add_argument("--data", help="the dataset's folder (default: Debian's Fashion-MNIST, benchmarks/.data)")
    parser.add_argument("--python", help="interpreter with the peers installed (default: benchmarks/.peers/venv)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "time_to_accuracy.json"))
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    OPTS.__dict__.update(device=args.device, data=args.data, size=args.size, workers=args.workers,
                         precision=args.precision, dataset=args.dataset)  # fmt: skip
    if args.side:
        torch.set_num_threads(args.threads)
        library, method = args.side.split("-")
        side = maskfuse_side if library == "maskfuse" else lightly_side
        print(json.dumps(score(*side(method, args.budget, args.marks))))
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from peers import ensure_venv

    python = args.python or str(ensure_venv())
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    passed = ["--budget", str(args.budget), "--marks", str(args.marks), "--device", args.device, "--precision",
              args.precision, "--threads", str(args.threads), "--workers", str(args.workers), "--size", args.size,
              "--dataset", args.dataset,
              *(["--data", args.data] if args.data else [])]  # fmt: skip
    results = {}
    for name in args.sides.split(","):
        done = subprocess.run([python, __file__, "--side", name, *passed], stdout=subprocess.PIPE, text=True, env=env)
        if done.returncode:
            raise SystemExit(f"side {name} failed")
        marks = json.loads(done.stdout.strip().splitlines()[-1])
        results[name] = {"marks": marks, "to_85": first_reaching(marks, 0.85), "to_88": first_reaching(marks, 0.88)}
        print(name, results[name], flush=True)
    where = f"{args.threads} threads" if args.device == "cpu" else f"{args.device} {args.precision}"
    what = "CIFAR-10 50k/10k" if args.dataset == "cifar10" else "Fashion-MNIST 60k/10k"
    payload = {"benchmark": f"{what}, batch {BATCH}, {args.budget:.0f} s of training, {where}",
               "size": args.size, "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
               "results": results}  # fmt: skip
    Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
