"""Every multimodal recipe on digits-av, with its random-init twin, on 2 CPU cores.

Usage:
    .venv/bin/python benchmarks/multimodal.py [--only clip,croma ...] [--steps 300]

digits-av pairs scikit-learn digit images with FSDD spoken digits (../shared/data/fsdd)
and number phrases BY CLASS (not by instance), so instance-level R@1 is bounded by about
1/36 (36 test rows per class); class R@1 (the top-1 retrieved item shows the query's
digit) and zero-shot accuracy are the informative numbers. Each row pretrains a `nano`
trunk for --steps steps at batch 128, then scores: retrieval for every ordered pair of
modalities, zero-shot by class-name prompts and by support-set prototypes, the joint
probe with each modality dropped, and per-modality k-NN / linear probes beside the raw
features and the random-init encoder. Writes benchmarks/results/multimodal.json and
prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import maskfuse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import FSDD  # noqa: E402  (the same real-data locator as the tests)

RECIPES = ["clip", "siglip", "symile", "tcl", "croma", "m3ae", "multimae"]
VARIANTS = {  # row name: (recipe, extra overrides)
    **{r: (r, []) for r in RECIPES},
    "croma-block": ("croma", ["multimodal.mask_samplers=[image:block,audio:block]"]),  # per-modality samplers
    "clip-separate": ("clip", ["multimodal.shared_trunk=false"]),  # one trunk per modality
    "multimae-contrast": ("multimae", ["multimodal.contrastive_weight=1"]),  # MultiMAE + cross-modal contrast
}
PAIRS = ("image->audio", "audio->image", "image->text", "text->image", "audio->text", "text->audio")


def summary(report: dict) -> dict:
    out = {}
    for row, cross in report["crossmodal"].items():
        ret = cross["retrieval"]
        out[row] = {
            "R@1": {p: ret[p]["R@1"] for p in PAIRS},
            "class_R@1": {p: ret[p]["class_R@1"] for p in PAIRS},
            "zeroshot": cross["zeroshot"],
            "joint_class_R@1": {k: r["class_R@1"] for k, r in cross.get("joint_retrieval", {}).items()},
            "missing": cross["missing"],
        }
    probes = {row: {p: r[p]["top1"] for p in ("knn", "linear")} for row, r in report["results"].items()}
    return {"crossmodal": out, "probes": probes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated row names (recipes, croma-block, clip-separate)")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    path = Path(__file__).parent / "results" / "multimodal.json"
    results = json.loads(path.read_text())["results"] if args.only and path.exists() else {}
    common = [f"data.path={FSDD}", f"train.steps={args.steps}", "train.progress=false", "train.monitor_every=0",
              "eval.protocols=[knn,linear]"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(",") if args.only else list(VARIANTS):
            recipe, extra = VARIANTS[name]
            cfg = maskfuse.resolve(recipe, [*common, *extra])
            t0 = time.perf_counter()
            run = maskfuse.pretrain(cfg, Path(tmp) / name)
            train_s = time.perf_counter() - t0
            report = maskfuse.evaluate(run)
            setup = {"recipe": recipe, "overrides": extra, "steps": cfg.train.steps, "batch": cfg.train.batch_size}
            results[name] = {**setup, "train_seconds": round(train_s), **summary(report)}
            pre = results[name]["crossmodal"]["pretrained"]
            print(f"{name:13s} {train_s:5.0f} s  class R@1 {pre['class_R@1']}  zero-shot {pre['zeroshot']}", flush=True)
    payload = {
        "benchmark": "multimodal recipes on digits-av (class-paired images, spoken digits, number phrases)",
        "torch_threads": torch.get_num_threads(),
        "command": f"python benchmarks/multimodal.py --steps {args.steps}",
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2))
    mean = lambda d: sum(d.values()) / len(d)  # noqa: E731
    print("\n| recipe | time | mean R@1 | mean class R@1 | zero-shot names->image | ->audio | joint probe all / "
          "without image / audio / text |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        i, p = r["crossmodal"]["random init"], r["crossmodal"]["pretrained"]
        z = p["zeroshot"]
        m = p["missing"]
        print(
            f"| {name} | {r['train_seconds']} s | {mean(i['R@1']):.1f} -> {mean(p['R@1']):.1f} | "
            f"{mean(i['class_R@1']):.1f} -> {mean(p['class_R@1']):.1f} | "
            f"{z['text class names -> image']:.1f} | {z['text class names -> audio']:.1f} | "
            f"{m['all']:.1f} / {m['without image']:.1f} / {m['without audio']:.1f} / {m['without text']:.1f} |"
        )


if __name__ == "__main__":
    main()
