"""M3AE and MultiMAE: one shared trunk over a joint sequence of every modality's tokens."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import MultiBackbone
from maskfuse.errors import ConfigError
from maskfuse.methods.paired import (
    Joint,
    ModalityMasks,
    contrast,
    cross_modal_objective,
    decode_modality,
    encode_joint,
    joint_tokens,
    masked_decoders,
    pooled_slices,
    show_counts,
    sum_losses,
)
from maskfuse.registry import METHODS
from maskfuse.types import DataSpec, LossOutput


class JointMasked(nn.Module):
    """Shared stages: joint tokens -> `visible(joint)` -> shared trunk over each row's
    visible tokens -> per-modality light decoders reconstruct the hidden ones (seeing
    every modality's encodings when `cross_decode`) -> optional cross-modal contrast of
    per-modality means of the encodings (multimodal.contrastive_weight > 0)."""

    paired = True
    cross_decode = False

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        if not cfg.multimodal.shared_trunk:
            raise ConfigError(f"{cfg.method} encodes all modalities jointly: multimodal.shared_trunk must be true")
        self.backbone = MultiBackbone(cfg, spec)
        self.decoders, self.heads = masked_decoders(self.backbone, cfg)
        c = cfg.multimodal
        self.objective = cross_modal_objective(cfg)
        self.weights = {"contrast": c.contrastive_weight, "reconstruct": c.reconstruction_weight}

    def visible(self, joint: Joint) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        joint = joint_tokens(self.backbone, batch)
        visible = self.visible(joint)
        full, enc, enc_valid = encode_joint(self.backbone.trunks[0], joint, visible)
        recon = {}
        for m in joint.names:
            rows = joint.rows[m]
            context = (enc[rows], enc_valid[rows]) if self.cross_decode else None
            encoded, shown = joint.slice_rows(full, m), joint.slice_rows(visible, m)
            recon[m] = decode_modality(self.decoders[m], self.heads[m], encoded, shown, joint.sub[m], context)
        reconstruct = LossOutput(sum(r.loss for r in recon.values()) / len(recon),
                                 {m: float(r.loss.detach()) for m, r in recon.items()})  # fmt: skip
        parts = {"reconstruct": reconstruct}
        if self.weights["contrast"] > 0:
            parts["contrast"] = contrast(self.objective, self.backbone, joint, pooled_slices(joint, full, visible))
        return sum_losses(parts, self.weights)


@METHODS.register("m3ae")
class M3AE(JointMasked):
    """Geng et al., "Multimodal Masked Autoencoders Learn Transferable Representations",
    2022: a different mask ratio per modality (multimodal.mask_ratios, e.g. image:0.75
    text:0.5; others mask.ratio; multimodal.mask_samplers picks samplers the same way),
    one shared encoder over the joint visible sequence."""

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        self.masks = ModalityMasks(cfg, spec)

    def visible(self, joint: Joint) -> torch.Tensor:
        grids = {m: t.grid for m, t in joint.sub.items()}
        return torch.cat([self.masks(m, joint.valid[:, joint.spans[m]], grids[m]) for m in joint.names], 1)


@METHODS.register("multimae")
class MultiMAE(JointMasked):
    """Bachmann et al., "MultiMAE: Multi-modal Multi-task Masked Autoencoders", ECCV 2022:
    each row's visible-token budget ((1 - mask.ratio) of its real tokens) is spread over
    its present modalities by a Dirichlet(multimodal.dirichlet_alpha) draw, so some rows
    show mostly one modality and must predict the others from it; each modality's
    decoder attends to every modality's encodings (cross-modal prediction)."""

    cross_decode = True

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__(cfg, spec)
        if not cfg.multimodal.dirichlet_alpha > 0:
            raise ConfigError(f"multimodal.dirichlet_alpha must be > 0, got {cfg.multimodal.dirichlet_alpha}")
        self.alpha, self.ratio = cfg.multimodal.dirichlet_alpha, cfg.mask.ratio

    def visible(self, joint: Joint) -> torch.Tensor:
        valids = [joint.valid[:, joint.spans[m]] for m in joint.names]
        real = torch.stack([v.sum(1) for v in valids], 1)  # [B, M]
        budget = ((1 - self.ratio) * real.sum(1)).round().long().clamp_min(1)  # [B]
        alpha = torch.full((len(valids),), self.alpha, device=real.device)
        share = torch.distributions.Dirichlet(alpha).sample((real.shape[0],)) * (real > 0)
        share = share / share.sum(1, keepdim=True)
        counts = torch.minimum((share * budget[:, None]).floor().long(), real)
        top = share.argmax(1, keepdim=True)  # a row whose draw rounds to nothing shows one token
        counts = counts.scatter_add(1, top, (counts.sum(1, keepdim=True) == 0).long())
        return torch.cat([show_counts(v, counts[:, j]) for j, v in enumerate(valids)], 1)
