"""`maskfuse export RUN --format safetensors|onnx --out DIR`: the encoder alone, for other tools.

An export folder holds:
- `model.safetensors`: the backbone's weights (tokenizer + trunk; no decoder, heads or teacher);
- `config.json`: the resolved config and the data spec, as a checkpoint keeps them, so
  `maskfuse.from_pretrained(DIR)` rebuilds the encoder from this folder alone;
- `preprocessing.json`: what an input must be: modality, per-sample shape, the training
  split's mean and std the tokenizer standardises with, the patch size; text exports add
  `tokenizer.json`;
- `README.md`: a model card with the recipe, the data, the evaluation table, and the lines
  that load it;
- with `--format onnx`, also `model.onnx`: the same encoder through `torch.export`, with a
  dynamic batch axis, input `raw` [batch, *shape] -> `pooled_embedding` [batch, dim].
Nothing is written when the run cannot be read or the folder holds other files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from maskfuse import checkpoint
from maskfuse.errors import ConfigError
from maskfuse.evaluate.suite import headline_rows, saved_eval
from maskfuse.pretrained import Pretrained, load
from maskfuse.version import __version__

FORMATS = ("safetensors", "onnx")


def preprocessing(model: Pretrained) -> dict[str, Any]:
    spec, cfg = model.spec, model.config
    tokenizer = model.backbone.tokenizer
    out = {
        "modality": spec.modality,
        "input_shape": list(spec.shape),
        "mean": list(spec.mean),
        "std": list(spec.std),
        "token_grid": list(tokenizer.grid),
        "embedding_dim": model.backbone.encoder.dim,
        "classes": list(spec.class_names),
    }
    if spec.modality == "image":
        out.update(patch_size=cfg.image.patch_size, values="floats in [0, 1], [batch, C, H, W]")
    return out


def model_card(model: Pretrained, run: Path, formats: list[str]) -> str:
    cfg, spec = model.config, model.spec
    lines = [
        f"# maskfuse encoder: {cfg.method} on {spec.modality} data", "",
        f"Exported from `{run}` at step {model.step} by maskfuse {__version__}: the backbone only "
        "(tokenizer + trunk), its pooled embedding of width "
        f"{model.backbone.encoder.dim}. Data: `{cfg.data.name}`, input {list(spec.shape)}.", "",
        "```python", "import maskfuse", "", "encoder = maskfuse.from_pretrained(\"THIS_FOLDER\")",
        "embeddings = encoder.embed(inputs)  # inputs shaped like preprocessing.json's input_shape", "```", "",
    ]  # fmt: skip
    if "onnx" in formats:
        lines += ["`model.onnx` takes `raw` [batch, *input_shape] and returns `pooled_embedding`.", ""]
    report = saved_eval(run, model.step)
    if report is not None:
        columns, rows = headline_rows(report)
        lines += [f"## Evaluation (held-out split, {report['test_rows']} rows)", "",
                  "| features | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]  # fmt: skip
        lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows.items()]
    else:
        lines += ["No evaluation of this checkpoint was found (run `maskfuse evaluate` before exporting)."]
    return "\n".join(lines) + "\n"


def export(run: str | Path, out: str | Path, formats: tuple[str, ...] = ("safetensors",)) -> Path:
    """Write the run's encoder to `out` in `formats` (safetensors always); returns `out`."""
    run, out = Path(run), Path(out)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"--format {unknown[0]}: expected one of {', '.join(FORMATS)}")
    model = load(run)
    if model.spec.parts:
        raise ConfigError(f"{run}: a multimodal run; exporting paired encoders is not supported yet")
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"--out {out}: the folder is not empty; exports go into a new or empty folder")
    onnx = _onnx_program(model) if "onnx" in formats else None  # fails before anything is written
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.contiguous() for k, v in model.backbone.state_dict().items()}
    save_file(weights, str(out / "model.safetensors"))
    meta = {"config": model.config.to_dict(), "data_spec": model.spec.to_dict(), "step": model.step,
            "maskfuse": __version__}  # fmt: skip
    checkpoint.write_text_atomic(out / "config.json", json.dumps(meta, indent=1))
    checkpoint.write_text_atomic(out / "preprocessing.json", json.dumps(preprocessing(model), indent=1))
    if "encoding" in model.spec.meta:  # text: the run's own tokenizer
        checkpoint.write_text_atomic(out / "tokenizer.json", model.spec.meta["encoding"])
    if onnx is not None:
        onnx.save(str(out / "model.onnx"))
    checkpoint.write_text_atomic(out / "README.md", model_card(model, run, list(formats)))
    return out


def _onnx_program(model: Pretrained):
    try:
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as err:
        raise ConfigError("--format onnx needs onnx and onnxscript: pip install 'maskfuse[export]'") from err
    backbone = model.backbone.eval()
    dtype = torch.long if model.spec.modality == "text" else torch.float32  # text: token ids
    example = torch.zeros(2, *model.spec.shape, dtype=dtype)
    batch = torch.export.Dim("batch")
    return torch.onnx.export(backbone, (example,), input_names=["raw"], output_names=["pooled_embedding"],
                             dynamo=True, dynamic_shapes=({0: batch},), verbose=False)  # fmt: skip
