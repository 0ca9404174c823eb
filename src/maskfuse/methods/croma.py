"""CROMA: masked unimodal encoders, cross-modal contrast, and a joint encoder that reconstructs."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import MultiBackbone, trunk_size
from maskfuse.masking.ops import merge
from maskfuse.methods.paired import (
    ModalityMasks,
    contrast,
    cross_modal_objective,
    decode_modality,
    encode_each,
    joint_tokens,
    masked_decoders,
    scatter_rows,
    sum_losses,
)
from maskfuse.nn.block import Transformer
from maskfuse.registry import METHODS
from maskfuse.types import DataSpec, LossOutput


@METHODS.register("croma")
class CROMA(nn.Module):
    """Fuller et al., "CROMA: Remote Sensing Representations with Contrastive Radar-Optical
    Masked Autoencoders", NeurIPS 2023, for any set of modalities.

    Stages: mask each modality (multimodal.mask_ratios / mask_samplers per modality) ->
    encode its visible tokens with its own encoder -> cross-modal contrast of the pooled
    encodings (multimodal.loss) -> a joint encoder (multimodal.joint_depth blocks) over
    every modality's visible encodings -> a light decoder per modality reconstructs its
    masked tokens. The recipe sets multimodal.shared_trunk=false (one encoder each).
    """

    paired = True

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.backbone = MultiBackbone(cfg, spec)
        c = cfg.multimodal
        self.objective = cross_modal_objective(cfg)
        size = trunk_size(cfg.model)
        self.joint = Transformer(size.dim, c.joint_depth, size.heads, cfg.model.mlp_ratio)
        self.decoders, self.heads = masked_decoders(self.backbone, cfg)
        self.masks = ModalityMasks(cfg, spec)
        self.weights = {"contrast": c.contrastive_weight, "reconstruct": c.reconstruction_weight}

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        joint = joint_tokens(self.backbone, batch)
        b = joint.batch
        visible = {m: self.masks(m, t.valid, t.grid) for m, t in joint.sub.items()}
        encoded = encode_each(self.backbone, joint, visible)
        contrastive = contrast(self.objective, self.backbone, joint, {m: out.pooled for m, (out, _) in encoded.items()})
        # the joint encoder sees every modality's visible encodings, tagged by modality
        xs = [scatter_rows(out.tokens + self.backbone.tags[m], joint.rows[m], b) for m, (out, _) in encoded.items()]
        valid = [scatter_rows(out.valid, joint.rows[m], b) for m, (out, _) in encoded.items()]
        fused = self.joint(torch.cat(xs, 1), torch.cat(valid, 1))
        recon, start = {}, 0
        for m, (out, plan) in encoded.items():
            k = out.tokens.shape[1]
            mine = fused[joint.rows[m], start : start + k]
            start += k
            laid_out = merge(mine, plan, mine.new_zeros(mine.shape[-1]))
            recon[m] = decode_modality(self.decoders[m], self.heads[m], laid_out, visible[m], joint.sub[m])
        reconstruct = LossOutput(sum(r.loss for r in recon.values()) / len(recon),
                                 {f"{m}": float(r.loss.detach()) for m, r in recon.items()})  # fmt: skip
        return sum_losses({"contrast": contrastive, "reconstruct": reconstruct}, self.weights)
