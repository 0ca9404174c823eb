"""Pieces the multimodal methods compose: presence, per-modality tokens of present rows,
per-row visibility plans over a joint token sequence, and per-modality decoding.

Only present rows of a modality ever pass through its tokenizer, encoder or decoder
(absent rows are zero placeholders, and a tokenizer fed zeros may divide by zero).
A joint sequence concatenates every modality's tokens for all rows; an absent
modality's slice is zeros marked invalid, so attention ignores it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import cached_property

import torch
from torch import nn

import maskfuse.masking  # noqa: F401  (registers the samplers)
from maskfuse.config import Config
from maskfuse.encoder import MultiBackbone, masked_mean
from maskfuse.errors import ConfigError
from maskfuse.masking.ops import gather, merge, plan_from_priority
from maskfuse.nn.decoder import MaskedDecoder
from maskfuse.registry import OBJECTIVES, SAMPLERS
from maskfuse.types import DataSpec, EncoderOutput, LossOutput, MaskPlan, Tokens


def presence(batch: dict[str, torch.Tensor], names: list[str]) -> dict[str, torch.Tensor]:
    """Modality -> [B] bool: which rows hold it (all rows when the batch has no table)."""
    b = next(v for k, v in batch.items() if k in names).shape[0]
    table = batch.get("present")
    if table is None:
        return {m: torch.ones(b, dtype=torch.bool, device=batch[m].device) for m in names}
    return {m: table[:, j] for j, m in enumerate(names)}


def scatter_rows(x: torch.Tensor, idx: torch.Tensor, rows: int) -> torch.Tensor:
    """Rows `idx` of a [rows, ...] zero tensor set to x [len(idx), ...] (differentiable)."""
    return x.new_zeros(rows, *x.shape[1:]).index_copy(0, idx, x)


def visible_plan(visible: torch.Tensor) -> tuple[MaskPlan, torch.Tensor]:
    """Index plan keeping every row's visible tokens [B, N] -> (plan, encoder validity [B, K]).

    Rows differ in how many tokens they show; each keeps K = the largest count, the
    surplus taken from hidden tokens that the encoder must ignore (validity False) and
    that stay prediction targets."""
    k = max(int(visible.sum(1).max()), 1) if len(visible) else 1
    noise = torch.rand(visible.shape, device=visible.device)
    priority = torch.where(visible, torch.zeros_like(noise), 1.0 + noise)
    plan = plan_from_priority(priority, visible.shape[1] - k)
    return plan, gather(visible, plan.keep_idx)


def show_counts(valid: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """A random `counts[b]` of row b's valid tokens marked visible: [B, N] bool."""
    noise = torch.rand(valid.shape, device=valid.device).masked_fill(~valid, 2.0)
    rank = torch.argsort(torch.argsort(noise, dim=1), dim=1)
    return valid & (rank < counts[:, None])


def kept_by_ratio(valid: torch.Tensor, ratio: float) -> torch.Tensor:
    """Tokens to show per row [B] when `ratio` of each row's real tokens is hidden
    (at least one shown when the row has any)."""
    real = valid.sum(1)
    return torch.where(real > 0, (real - (real * ratio).round().long()).clamp_min(1), real)


@dataclass
class Joint:
    """Every modality's tokens: `sub[m]` for its present rows `rows[m]` of a batch of
    `batch` rows. The full batch laid out as one sequence (`x` embedded [B, sum N, D],
    `valid`, `spans[m]` locating each modality) is built on first use: the joint-encoder
    methods need it, per-modality encoding (clip) does not."""

    names: list[str]
    sub: dict[str, Tokens]
    rows: dict[str, torch.Tensor]
    batch: int

    @cached_property
    def spans(self) -> dict[str, slice]:
        ends = itertools.accumulate(self.sub[m].num_tokens for m in self.names)
        return {m: slice(end - self.sub[m].num_tokens, end) for m, end in zip(self.names, ends)}

    @cached_property
    def x(self) -> torch.Tensor:
        return torch.cat([scatter_rows(self.sub[m].embedded(), self.rows[m], self.batch) for m in self.names], 1)

    @cached_property
    def valid(self) -> torch.Tensor:
        return torch.cat([scatter_rows(self.sub[m].valid, self.rows[m], self.batch) for m in self.names], 1)

    def slice_rows(self, full: torch.Tensor, m: str) -> torch.Tensor:
        """Modality m's present rows and span of a [B, sum N, ...] tensor."""
        return full[self.rows[m], self.spans[m]]


def no_rows(backbone: MultiBackbone, name: str, raw: torch.Tensor) -> Tokens:
    """Tokens of zero rows, for a modality absent from the whole batch (some tokenizers,
    like audio's STFT, refuse an empty batch): one placeholder row tokenized without
    gradients, then cut away."""
    with torch.no_grad():
        t = backbone.part(name).tokens(raw[:1])
    cut = {f: getattr(t, f)[:0] for f in ("x", "pos", "valid", "target", "target_mean", "target_std")
           if getattr(t, f) is not None}  # fmt: skip
    return replace(t, **cut)


def joint_tokens(backbone: MultiBackbone, batch: dict[str, torch.Tensor]) -> Joint:
    names = backbone.names
    present = presence(batch, names)
    b = present[names[0]].shape[0]
    sub, rows = {}, {}
    for m in names:
        idx = present[m].nonzero().squeeze(1)
        sub[m] = no_rows(backbone, m, batch[m]) if idx.numel() == 0 else backbone.part(m).tokens(batch[m][idx])
        rows[m] = idx
    return Joint(names, sub, rows, b)


def decode_modality(
    decoder: MaskedDecoder,
    head: nn.Module,
    encoded: torch.Tensor,
    visible: torch.Tensor,
    tokens: Tokens,
    context: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> LossOutput:
    """Decode one modality from encodings at every position [n, N, D] (used where
    `visible`), and score its hidden valid tokens."""
    ctx, ctx_valid = context if context is not None else (None, None)
    h = decoder.forward_dense(encoded, ~visible, tokens.valid, ctx, ctx_valid)
    return head.loss(head(h), tokens, ~visible)


def pooled_slices(joint: Joint, encoded_full: torch.Tensor, visible: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per modality, the mean of its visible encoded tokens for its present rows: [n_m, D]."""
    return {m: masked_mean(joint.slice_rows(encoded_full, m), joint.slice_rows(visible, m)) for m in joint.names}


def encode_joint(
    trunk: nn.Module, joint: Joint, visible: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run `trunk` over each row's visible joint tokens; return encodings laid out at
    every position [B, sum N, D], plus the encoded tokens [B, K, D] and their validity."""
    plan, enc_valid = visible_plan(visible)
    out = trunk(gather(joint.x, plan.keep_idx), enc_valid)
    full = merge(out.tokens, plan, out.tokens.new_zeros(out.tokens.shape[-1]))
    return full, out.tokens, enc_valid


def encode_each(
    backbone: MultiBackbone, joint: Joint, visible: dict[str, torch.Tensor] | None = None
) -> dict[str, tuple[EncoderOutput, MaskPlan | None]]:
    """Each modality's present rows through its own trunk (all tokens, or only those
    `visible[m]` [n_m, N_m] shows): m -> (named outputs, the plan used or None)."""
    out = {}
    for m in joint.names:
        tokens, trunk = joint.sub[m], backbone.trunk(m)
        if visible is None:
            out[m] = (trunk(tokens.embedded(), tokens.valid), None)
            continue
        plan, enc_valid = visible_plan(visible[m])
        out[m] = (trunk(gather(tokens.embedded(), plan.keep_idx), enc_valid), plan)
    return out


def contrast(
    objective: nn.Module,
    backbone: MultiBackbone,
    joint: Joint,
    pooled: dict[str, torch.Tensor],
    views: dict[str, torch.Tensor] | None = None,
) -> LossOutput:
    """The cross-modal objective on per-modality pooled features of present rows [n_m, D],
    laid out over the batch with presence flags (absent rows never count)."""
    b = joint.batch
    z = {m: scatter_rows(backbone.heads[m](pooled[m]), joint.rows[m], b) for m in joint.names}
    present = {m: scatter_rows(torch.ones_like(joint.rows[m], dtype=torch.bool), joint.rows[m], b) for m in z}
    if views is None:
        return objective(z, present)
    other = {m: scatter_rows(backbone.heads[m](views[m]), joint.rows[m], b) for m in joint.names}
    return objective(z, present, other)


def per_modality(entries: tuple[str, ...], spec: DataSpec, default, setting: str, parse) -> dict:
    """Settings written "key:value", key a modality name or a kind (text, image...), over
    `default` for the rest; a name beats a kind. `parse(value)` converts or raises ValueError."""
    kinds = {m: p.modality for m, p in spec.parts.items()}
    out = dict.fromkeys(kinds, default)
    parsed = []
    for entry in entries:
        key, _, raw = entry.partition(":")
        try:
            value = parse(raw)
        except ValueError as err:
            raise ConfigError(f"{setting}: '{entry}' ({err})") from None
        if key not in kinds and key not in kinds.values():
            known = ", ".join(sorted({*kinds, *kinds.values()}))
            raise ConfigError(f"{setting}: '{key}' is no modality or kind of this data ({known})")
        parsed.append((key in kinds, key, value))
    for by_name, key, value in sorted(parsed, key=lambda e: e[0]):  # kinds first, names override them
        for m, kind in kinds.items():
            if (m if by_name else kind) == key:
                out[m] = value
    return out


def ratio(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise ValueError("a mask ratio lies in [0, 1)")
    return value


def sampler_name(text: str) -> str:
    if text not in SAMPLERS:
        raise ValueError(f"known samplers: {', '.join(SAMPLERS.names())}")
    if getattr(SAMPLERS.get(text), "needs_scores", False):
        raise ValueError("it needs per-token scores, which paired runs do not supply")
    return text


class ModalityMasks:
    """Which tokens each modality shows: multimodal.mask_ratios and multimodal.mask_samplers
    ("name:value" or "kind:value"; mask.ratio and mask.sampler for the rest). The random
    sampler hides its ratio of each row's real tokens; any other registered sampler
    (block, noise, multiblock, tube...) draws its plan over the modality's token grid."""

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        c = cfg.multimodal
        self.ratios = per_modality(c.mask_ratios, spec, cfg.mask.ratio, "multimodal.mask_ratios", ratio)
        names = per_modality(c.mask_samplers, spec, cfg.mask.sampler, "multimodal.mask_samplers", sampler_name)
        self.samplers = {
            m: SAMPLERS.get(names[m])(replace(cfg.mask, ratio=self.ratios[m]))
            for m in names
            if names[m] != "random" and self.ratios[m] > 0
        }

    def __call__(self, name: str, valid: torch.Tensor, grid: tuple[int, ...]) -> torch.Tensor:
        """Visible tokens [B, N] of modality `name` (valid [B, N] on its token grid)."""
        sampler = self.samplers.get(name)
        if sampler is None:
            return show_counts(valid, kept_by_ratio(valid, self.ratios[name]))
        plan = sampler(grid, valid.shape[0], valid=valid).to(valid.device)
        return ~plan.mask & valid


def cross_modal_objective(cfg: Config, two_views: bool = False) -> nn.Module:
    """The objective multimodal.loss; only a method that makes second views may take one
    that needs them (tcl)."""
    c = cfg.multimodal
    objective = OBJECTIVES.get(c.loss).from_config(c, cfg.contrastive.gather)
    if getattr(objective, "needs_views", False) and not two_views:
        raise ConfigError(
            f"{cfg.method}: multimodal.loss={c.loss} needs two views; use all-pairs, clip, siglip or symile"
        )
    return objective


def sum_losses(parts: dict[str, LossOutput], weights: dict[str, float]) -> LossOutput:
    """Weighted sum of named losses; each one's logs kept under its name."""
    loss = sum(weights[k] * out.loss for k, out in parts.items())
    logs = {f"{k}/{name}": v for k, out in parts.items() for name, v in out.logs.items()}
    logs.update({k: float(out.loss.detach()) for k, out in parts.items()})
    return LossOutput(loss, logs)


def masked_decoders(backbone: MultiBackbone, cfg: Config) -> tuple[nn.ModuleDict, nn.ModuleDict]:
    """A light MAE decoder and the tokenizer's target head for every modality."""
    decoders = nn.ModuleDict(
        {m: MaskedDecoder(backbone.dim, backbone.tokenizers[m].coords, cfg.decoder) for m in backbone.names}
    )
    heads = nn.ModuleDict(
        {m: backbone.tokenizers[m].target_head(cfg.decoder.dim, cfg.reconstruction) for m in backbone.names}
    )
    return decoders, heads
