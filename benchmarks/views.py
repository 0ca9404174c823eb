"""SimCLR's image views: maskfuse's batched torch views against the same recipe in kornia.

Usage:
    .venv/bin/python benchmarks/views.py [--rounds 30] [--device cpu|cuda]

Both sides make the views of one batch with the same settings (crop area 0.35-1, flip,
colour jitter with p = 0.8, greyscale with p = 0.2 for RGB, blur with p = 0.3), on
256 greyscale 28x28 images (Fashion-MNIST's shape, batch 256 -> 512 views as SimCLR
makes them) and 256 RGB 32x32 images (CIFAR-10's). Rounds alternate the two sides in
one process after a warm-up; the median of each and the ratio are written to
benchmarks/results/views_<device>.json. kornia is a dev dependency, for this
comparison only.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from maskfuse.config import AugmentConfig
from maskfuse.data.image_views import ImageViews, blur_kernel_size


def kornia_views(cfg: AugmentConfig, channels: int, size: int):
    """The same recipe through kornia (what maskfuse used before)."""
    import kornia.augmentation as K

    k = blur_kernel_size(size, size)
    steps = [K.RandomResizedCrop((size, size), scale=cfg.crop_scale), K.RandomHorizontalFlip()]
    if channels == 3:
        steps += [K.ColorJitter(cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue, p=cfg.jitter_prob),
                  K.RandomGrayscale(p=cfg.grayscale_prob)]  # fmt: skip
    else:
        steps += [K.RandomBrightness((1 - cfg.brightness, 1 + cfg.brightness), p=cfg.jitter_prob),
                  K.RandomContrast((1 - cfg.contrast, 1 + cfg.contrast), p=cfg.jitter_prob)]  # fmt: skip
    steps.append(K.RandomGaussianBlur((k, k), (0.1, 2.0), p=cfg.blur_prob))
    return K.AugmentationSequential(*steps)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, x: torch.Tensor, device: torch.device) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn(x)
    fn(x)  # two views, as SimCLR makes them
    sync(device)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    cfg = AugmentConfig()
    results = {}
    for name, channels, size in (("greyscale 28x28", 1, 28), ("RGB 32x32", 3, 32)):
        x = torch.rand(args.batch, channels, size, size, device=device)
        sides = {"maskfuse": ImageViews(cfg, size, size).to(device), "kornia": kornia_views(cfg, channels, size)}
        times: dict[str, list[float]] = {side: [] for side in sides}
        for round_ in range(args.rounds + 3):
            for side, fn in sides.items():
                seconds = timed(fn, x, device)
                if round_ >= 3:  # warm-up rounds
                    times[side].append(seconds)
        med = {side: statistics.median(t) * 1000 for side, t in times.items()}
        results[name] = {
            "views": 2 * args.batch,
            "ms_maskfuse": round(med["maskfuse"], 2),
            "ms_kornia": round(med["kornia"], 2),
            "speedup": round(med["kornia"] / med["maskfuse"], 2),
        }
        print(f"{name}: maskfuse {med['maskfuse']:.1f} ms, kornia {med['kornia']:.1f} ms "
              f"for {2 * args.batch} views ({med['kornia'] / med['maskfuse']:.2f}x)")  # fmt: skip
    out = Path(__file__).parent / "results" / f"views_{device.type}.json"
    payload = {
        "benchmark": "SimCLR image views of one batch (two views each), maskfuse vs kornia, alternating rounds",
        "rounds": args.rounds,
        "device": device.type,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "results": results,
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
