"""The contracts every component speaks: token bundles, mask plans, encoder outputs, losses.

These four types are the seams of the library. A tokenizer returns `Tokens`, a sampler
returns a `MaskPlan`, the trunk returns an `EncoderOutput`, an objective returns a
`LossOutput`. Nothing downstream of a tokenizer knows which modality it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Tokens:
    """One modality's input as a bundle of tokens.

    Attributes:
        x: Token embeddings without positions, [B, N, D].
        pos: Positional embedding to add to `x`, [1 or B, N, D].
        coords: Per-token coordinates on the token grid, [N, A] (A axes), so any head
            can build positions of its own width (decoders use this).
        valid: True for real tokens, False for padding, [B, N].
        target: Per-token reconstruction target, [B, N, P].
        grid: Token grid shape, e.g. (H/p, W/p) for images; used to draw targets.
        target_mean: Mean removed from `target` when targets are normalised, broadcastable
            to it ([B, N, 1] per patch, [B, N, P] per value); None when targets are raw.
        target_std: Std that `target` was divided by, shaped like target_mean; None if raw.
        sample_coords: Per-sample coordinates [B, N, A] of tokens that lie on no fixed grid
            (point groups: their centres); decoders build their positions from these
            instead of `coords`. None for grid tokens.
    """

    x: torch.Tensor
    pos: torch.Tensor
    coords: torch.Tensor
    valid: torch.Tensor
    target: torch.Tensor
    grid: tuple[int, ...]
    target_mean: torch.Tensor | None = None
    target_std: torch.Tensor | None = None
    sample_coords: torch.Tensor | None = None

    @property
    def num_tokens(self) -> int:
        return self.x.shape[1]

    def embedded(self) -> torch.Tensor:
        """Token embeddings with positions added, [B, N, D]."""
        return self.x + self.pos


@dataclass
class MaskPlan:
    """Which tokens the encoder sees and which it must predict, as index tensors.

    Attributes:
        keep_idx: Indices of visible tokens, [B, K], sorted ascending per row.
        pred_idx: Indices of masked (to be predicted) tokens, [B, M], sorted per row.
        num_tokens: N, the length of the full token sequence.
    """

    keep_idx: torch.Tensor
    pred_idx: torch.Tensor
    num_tokens: int

    @property
    def mask(self) -> torch.Tensor:
        """Boolean mask [B, N], True where a token is to be predicted."""
        b = self.pred_idx.shape[0]
        m = torch.zeros(b, self.num_tokens, dtype=torch.bool, device=self.pred_idx.device)
        return m.scatter_(1, self.pred_idx, True)

    @property
    def ratio(self) -> float:
        return self.pred_idx.shape[1] / self.num_tokens

    def to(self, device: torch.device | str) -> MaskPlan:
        return MaskPlan(self.keep_idx.to(device), self.pred_idx.to(device), self.num_tokens)


@dataclass
class EncoderOutput:
    """Named outputs of the trunk.

    Attributes:
        tokens: Final-normed patch tokens (cls excluded), [B, N, D].
        pooled: One embedding per sample, [B, D]: the cls token when the trunk has one,
            else the mean over valid tokens.
        valid: Validity of `tokens`, [B, N].
        cls: The cls token, [B, D], or None when the trunk has none.
    """

    tokens: torch.Tensor
    pooled: torch.Tensor
    valid: torch.Tensor
    cls: torch.Tensor | None = None


@dataclass
class LossOutput:
    """A scalar loss and the named floats worth logging beside it."""

    loss: torch.Tensor
    logs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DataSpec:
    """What a tokenizer needs to know about the data, saved with every run.

    Attributes:
        modality: The batch key and tokenizer name, e.g. "image".
        shape: Shape of one sample, e.g. (C, H, W).
        mean: Per-channel mean of the training split, for input standardisation.
        std: Per-channel std of the training split.
        num_classes: Number of label classes, or None for unlabeled data.
        class_names: Names of the classes, when known.
        meta: What else a tokenizer needs, JSON-serialisable (tables: column names,
            kinds, categories and scaling fitted on the training split).
        parts: Paired multimodal data: the spec of each modality, by batch key (its
            `modality` names the tokenizer); empty for single-modality data.
    """

    modality: str
    shape: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_classes: int | None = None
    class_names: tuple[str, ...] = ()
    meta: dict = field(default_factory=dict)
    parts: dict[str, DataSpec] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "modality": self.modality,
            "shape": list(self.shape),
            "mean": list(self.mean),
            "std": list(self.std),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "meta": self.meta,
            "parts": {k: v.to_dict() for k, v in self.parts.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> DataSpec:
        return cls(
            modality=d["modality"],
            shape=tuple(d["shape"]),
            mean=tuple(d["mean"]),
            std=tuple(d["std"]),
            num_classes=d.get("num_classes"),
            class_names=tuple(d.get("class_names", ())),
            meta=d.get("meta", {}),
            parts={k: cls.from_dict(v) for k, v in d.get("parts", {}).items()},
        )
