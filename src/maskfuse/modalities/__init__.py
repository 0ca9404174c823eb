"""Per-modality tokenizers: raw input -> `Tokens`. Importing this package registers them.

Every tokenizer is an `nn.Module` registered in MODALITIES under the batch key it reads
("image", "timeseries", "audio", ...), built by `builder(cfg, spec, dim)`, and offers:

- `forward(raw) -> Tokens` for a raw batch, and the attributes `grid` (token grid shape),
  `coords` ([N, A] grid coordinates) and `patch_dim` (width of one token's target);
- `decode(target, tokens)`: per-token targets (or predictions) back to the raw shape;
- `mask_input(raw, mask)`: the raw batch with masked tokens hidden, for pictures;
- `pictures(raw, mask, pred, tokens)`: named rows for the report. A row is images
  [B, C, H, W] in [0, 1] or signals [B, C, T] (NaN = a gap), nothing else;
- `raw_features(raw) -> [B, F]`: the no-learning baseline the evaluation compares with;
- optionally `show(raw) -> images [B, C, H, W]`, for raw inputs that are not images or
  signals (volumes, clips, motion): the report draws raw-shaped rows through it.

Variable-length continuous inputs (series, audio) come padded at the end with NaN; the
tokenizer turns that into `Tokens.valid`, so padding is never a target nor counted.

A modality may be one folder, `modalities/<name>/`, that owns everything about it: its
settings (`settings.py`: a dataclass that becomes the config section `<name>`, found by
`config.py` without importing torch), its tokenizer, its sources (registered in
DATASETS) and its views (registered in AUGMENTATIONS). Nothing outside the folder names
it. This file and each folder's `__init__` stay light for that reason: the components
register when `load_all()` imports them (the encoder and the data package call it).
"""

from maskfuse.registry import import_all


def load_all() -> None:
    """Import every tokenizer, source and view module here, so each registers itself."""
    import_all(__name__, __path__)
