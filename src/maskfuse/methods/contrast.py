"""Cross-modal contrastive pretraining: CLIP, SigLIP, all-pairs, Symile or TCL over paired data."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import MultiBackbone
from maskfuse.methods.paired import (
    Joint,
    contrast,
    cross_modal_objective,
    encode_each,
    joint_tokens,
    kept_by_ratio,
    show_counts,
)
from maskfuse.registry import METHODS
from maskfuse.types import DataSpec, LossOutput


@METHODS.register("clip")
class CrossModalContrast(nn.Module):
    """Radford et al. 2021 (CLIP) generalised to any number of modalities.

    Stages: each modality's present rows -> its tokenizer (+ modality embedding) -> the
    shared trunk or its own (multimodal.shared_trunk) -> pooled -> linear projection ->
    the objective multimodal.loss: clip (two modalities), all-pairs, siglip, symile
    (three or more, jointly) or tcl (adds intra-modal contrast between two token drops).
    multimodal.token_drop > 0 encodes a random share of tokens only (FLIP, Li et al. 2023).
    """

    paired = True

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.backbone = MultiBackbone(cfg, spec)
        self.objective = cross_modal_objective(cfg, two_views=True)
        self.token_drop, self.view_drop = cfg.multimodal.token_drop, cfg.multimodal.view_drop
        self.two_views = getattr(self.objective, "needs_views", False)

    def pooled(self, joint: Joint, drop: float) -> dict[str, torch.Tensor]:
        """Pooled trunk features of every modality's present rows, after a token drop."""
        visible = None
        if drop > 0:
            visible = {m: show_counts(t.valid, kept_by_ratio(t.valid, drop)) for m, t in joint.sub.items()}
        return {m: out.pooled for m, (out, _) in encode_each(self.backbone, joint, visible).items()}

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        joint = joint_tokens(self.backbone, batch)
        views = self.pooled(joint, self.view_drop) if self.two_views else None
        return contrast(self.objective, self.backbone, joint, self.pooled(joint, self.token_drop), views)
