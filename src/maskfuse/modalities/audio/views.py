"""Contrastive views of waveforms: gain, shift, noise, and SpecAugment-style masks."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import AugmentConfig, Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.types import DataSpec


class AudioViews(nn.Module):
    """Random views of waveforms [B, 1, S] padded at the end with NaN.

    Random gain (+- gain_db), a circular time shift inside the clip, additive noise
    (noise_std times the clip's rms), and SpecAugment's masks done on the waveform:
    `time_masks` silenced spans and `freq_masks` bands removed in the Fourier domain
    (Park et al., "SpecAugment", 2019), each up to 10 % of the clip or of the band.
    """

    def __init__(self, cfg: AugmentConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        b, _, s = x.shape
        observed = ~torch.isnan(x[:, 0])  # [B, S]
        length = observed.sum(1).clamp_min(1)
        wave = x[:, 0].nan_to_num(0.0)
        steps = torch.arange(s)[None]
        offset = ((torch.rand(b) * 2 - 1) * c.shift * length).round().long()
        source = torch.remainder(steps - offset[:, None], length[:, None])
        wave = wave.gather(1, source.clamp(max=s - 1)) * observed
        wave = wave * 10 ** (torch.empty(b, 1).uniform_(-c.gain_db, c.gain_db) / 20)
        rms = (wave.pow(2).sum(1, keepdim=True) / length[:, None]).sqrt()
        wave = wave + c.noise_std * rms * torch.randn(b, s)
        for _ in range(c.time_masks):
            width = (torch.rand(b) * 0.1 * length).long()
            start = (torch.rand(b) * (length - width)).long()
            wave = wave.masked_fill((steps >= start[:, None]) & (steps < (start + width)[:, None]), 0.0)
        if c.freq_masks:
            spec = torch.fft.rfft(wave, dim=1)
            bins = torch.arange(spec.shape[1])[None]
            for _ in range(c.freq_masks):
                width = (torch.rand(b) * 0.1 * spec.shape[1]).long()
                start = (torch.rand(b) * (spec.shape[1] - width)).long()
                spec = spec.masked_fill((bins >= start[:, None]) & (bins < (start + width)[:, None]), 0.0)
            wave = torch.fft.irfft(spec, n=s, dim=1)
        return wave.masked_fill(~observed, float("nan"))[:, None]


@AUGMENTATIONS.register("audio")
def audio_views(cfg: Config, spec: DataSpec) -> nn.Module:
    return AudioViews(cfg.augment)
