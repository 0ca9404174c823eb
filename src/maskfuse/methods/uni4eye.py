"""Uni4Eye: 2-D slices and 3-D volumes through one trunk, each masked and reconstructed."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.masking.ops import plan_tokens
from maskfuse.methods.mae import encode_decode
from maskfuse.nn.decoder import MaskedDecoder
from maskfuse.nn.grid_tokens import GridTokenizer
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput


def random_slices(x: torch.Tensor) -> torch.Tensor:
    """One random depth slice of each volume: [B, C, D, H, W] -> [B, C, H, W]."""
    pick = torch.randint(0, x.shape[2], (x.shape[0],), device=x.device)
    return x[torch.arange(x.shape[0], device=x.device), :, pick]


@METHODS.register("uni4eye")
class Uni4Eye(nn.Module):
    """Cai et al., "Uni4Eye: Unified 2D and 3D Self-supervised Pre-training via Masked Image
    Modeling Transformer for Ophthalmic Image Classification", MICCAI 2022.

    Stages: each volume, and one random depth slice of it, get their own patch embedding
    (the volume's p x p x p boxes; the slice's p x p squares, 2-D positions) -> one shared
    trunk encodes the visible tokens of each -> a light decoder per input reconstructs its
    masked patches (normalised pixels, MSE) -> the two losses are averaged. The paper pairs
    2-D fundus photographs with 3-D OCT scans of other eyes; here the 2-D inputs are slices
    of the training volumes, so one volume set trains both paths. Its second branch
    (reconstructing image gradients) is not part of this method. `backbone` is the 3-D
    path: the one kept for embedding and probes.
    """

    modalities = ("volume",)

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        volume = self.backbone.tokenizer
        channels, _, h, w = spec.shape
        side = volume.patch[1]
        dim = self.backbone.encoder.dim
        self.slices = GridTokenizer(channels, (h, w), (side, side), dim, cfg.volume.norm_pix, spec.mean, spec.std,
                                    what="slice")  # fmt: skip
        self.decoders = nn.ModuleDict({name: MaskedDecoder(dim, tok.coords, cfg.decoder)
                                       for name, tok in (("volume", volume), ("slice", self.slices))})  # fmt: skip
        self.heads = nn.ModuleDict({name: tok.target_head(cfg.decoder.dim, cfg.reconstruction)
                                    for name, tok in (("volume", volume), ("slice", self.slices))})  # fmt: skip

    def reconstruct(self, name: str, tokenizer: nn.Module, x: torch.Tensor, scores=None) -> tuple:
        """(tokens, plan, predictions) of one path through the shared trunk."""
        tokens = tokenizer(x)
        plan = plan_tokens(self.sampler, tokens, scores)
        return tokens, plan, self.heads[name](encode_decode(self.backbone.encoder, self.decoders[name], tokens, plan))

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        logs, losses = {}, []
        for name, tokenizer, data, scores in (("volume", self.backbone.tokenizer, x, batch.get("mask_scores")),
                                              ("slice", self.slices, random_slices(x), None)):  # fmt: skip
            tokens, plan, pred = self.reconstruct(name, tokenizer, data, scores)
            out = self.heads[name].loss(pred, tokens, plan.mask)
            losses.append(out.loss)
            logs[f"{name}_loss"] = float(out.loss.detach())
        return LossOutput(torch.stack(losses).mean(), logs)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The volume path, as MAE draws it."""
        x = batch[self.modality]
        tokens, plan, pred = self.reconstruct("volume", self.backbone.tokenizer, x, batch.get("mask_scores"))
        return self.backbone.tokenizer.pictures(x, plan.mask, pred, tokens)
