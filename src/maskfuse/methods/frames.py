"""Learning without augmenting: instance discrimination across a series' frame projections."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.data.frames import centred, fourier_frame, morlet_frame, morlet_scales, rms_normalised
from maskfuse.encoder import Backbone, Encoder, build_backbone, trunk_size
from maskfuse.modalities.timeseries import SeriesTokenizer
from maskfuse.nn.heads import projection_head
from maskfuse.registry import METHODS, OBJECTIVES
from maskfuse.types import DataSpec, LossOutput

DOMAINS = ("time", "fourier", "wavelet")


def mapper(dim: int, hidden: int) -> nn.Sequential:
    """A small non-linear map from one domain's embedding to another's."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


@METHODS.register("frames")
class FrameProjections(nn.Module):
    """Demirel & Holz, "Learning Without Augmenting", NeurIPS 2025.

    Stages: each series -> three deterministic views (itself; its orthonormal DFT as
    magnitude and phase; the magnitude of a Morlet wavelet transform at
    `series.frame_scales` log-spaced scales) -> one backbone per domain (the series
    tokenizer over frequency bins or time, channels mixed, and a trunk of cfg.model's
    size) -> projection heads -> the contrastive objective between every pair of
    domains (time-Fourier, time-wavelet, Fourier-wavelet, summed), plus two small maps
    that predict the Fourier and wavelet embeddings from the time embedding (mean L1
    between L2-normalised embeddings, so shrinking them cannot cheat). No random
    augmentation.

    `backbone` is the time-domain encoder: the only one kept for embedding and probes.
    The paper's second stage (frozen encoders, mappers on the trunk features whose
    outputs are concatenated at inference) is not part of this method.
    """

    modalities = ("timeseries",)

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        channels, length = spec.shape
        self.register_buffer("scales", morlet_scales(length, cfg.series.frame_scales), persistent=False)
        dim = trunk_size(cfg.model).dim
        bins = length // 2 + 1
        patch = cfg.series.patch_len
        self.fourier = Backbone(
            SeriesTokenizer(2 * channels, bins, min(patch, bins), dim, normalize="none"), Encoder(cfg.model)
        )
        self.wavelet = Backbone(
            SeriesTokenizer(channels * len(self.scales), length, patch, dim, normalize="none"), Encoder(cfg.model)
        )
        c = cfg.contrastive
        self.heads = nn.ModuleDict({d: projection_head(dim, c.proj_hidden, c.proj_dim) for d in DOMAINS})
        self.maps = nn.ModuleDict({d: mapper(c.proj_dim, c.proj_hidden) for d in DOMAINS[1:]})
        self.objective = OBJECTIVES.get(c.loss).from_config(c, c.proj_dim)

    def projections(self, series: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three views of a [B, C, T] batch; the two projections start from each
        series standardised per channel, as the time tokenizer sees it."""
        tokenizer = self.backbone.tokenizer
        mean, std = tokenizer.statistics(series)
        x = centred((series - mean) / std)
        return {
            "time": series,
            "fourier": rms_normalised(fourier_frame(x)),
            "wavelet": rms_normalised(morlet_frame(x, self.scales)),
        }

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The input and its wavelet scalogram (first channel) as an image, scales down."""
        x = batch[self.modality]
        scalogram = self.projections(x)["wavelet"][:, : len(self.scales)].flip(1)[:, None]  # [B, 1, S, T]
        top = scalogram.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
        return {"input": x, "wavelet scalogram": scalogram / top}

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        with torch.no_grad():
            views = self.projections(batch[self.modality])
        encoders = {"time": self.backbone, "fourier": self.fourier, "wavelet": self.wavelet}
        z = {d: self.heads[d](encoders[d](views[d])) for d in DOMAINS}
        logs: dict[str, float] = {}
        loss = z["time"].new_zeros(())
        for i, a in enumerate(DOMAINS):
            for b in DOMAINS[i + 1 :]:
                pair = self.objective(z[a], z[b])
                loss = loss + pair.loss
                logs[f"{a}-{b}"] = float(pair.loss.detach())
        unit = {d: nn.functional.normalize(v, dim=-1) for d, v in z.items()}
        for d, m in self.maps.items():
            err = nn.functional.l1_loss(nn.functional.normalize(m(z["time"]), dim=-1), unit[d])
            loss = loss + err
            logs[f"map-{d}"] = float(err.detach())
        return LossOutput(loss, logs)
