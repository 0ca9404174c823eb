"""Audio as time x frequency patches of a log-mel spectrogram (Audio-MAE)."""

from __future__ import annotations

import math

import torch
from torch import nn

from maskfuse.config import Config, ReconstructionConfig
from maskfuse.errors import ConfigError
from maskfuse.modalities.audio.settings import Settings as AudioConfig
from maskfuse.modalities.audio.source import contract_example
from maskfuse.nn.pos import grid_coords, sincos
from maskfuse.nn.targets import PatchTarget
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec, Tokens


def mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int) -> torch.Tensor:
    """Triangular filters on the HTK mel scale from 0 Hz to Nyquist, [n_freqs, n_mels]."""
    mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)  # noqa: E731
    edges_mel = torch.linspace(0.0, mel(sample_rate / 2), n_mels + 2, dtype=torch.float64)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)  # [n_mels + 2] Hz
    freqs = torch.linspace(0.0, sample_rate / 2, n_freqs, dtype=torch.float64)[:, None]
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (freqs - lower) / (center - lower)
    falling = (upper - freqs) / (upper - center)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


class LogMel(nn.Module):
    """Waveforms [B, 1, S] (NaN-padded at the end) -> log-mel [B, n_mels, frames] and the
    validity of each frame [B, frames]. Runs on whatever device the batch is on."""

    def __init__(self, cfg: AudioConfig, sample_rate: int) -> None:
        super().__init__()
        self.win = max(8, round(sample_rate * cfg.window_ms / 1000))
        self.hop = max(1, round(sample_rate * cfg.hop_ms / 1000))
        self.n_fft = 2 ** math.ceil(math.log2(self.win))
        self.register_buffer("window", torch.hann_window(self.win), persistent=False)
        fb = mel_filterbank(self.n_fft // 2 + 1, cfg.n_mels, sample_rate)
        self.register_buffer("filters", fb, persistent=False)

    def frames(self, samples: int) -> int:
        return samples // self.hop + 1

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        observed = ~torch.isnan(wave[:, 0])  # [B, S]
        x = wave[:, 0].nan_to_num(0.0)
        spec = torch.stft(x, self.n_fft, self.hop, self.win, self.window, center=True, return_complex=True)
        power = spec.real**2 + spec.imag**2  # [B, F, frames]
        logmel = torch.log(torch.einsum("bft,fm->bmt", power, self.filters) + 1e-6)
        centers = torch.arange(logmel.shape[-1], device=wave.device) * self.hop
        valid = centers[None] < observed.sum(1, keepdim=True)  # frames centred inside the clip
        return logmel, valid


class AudioTokenizer(nn.Module):
    """Log-mel spectrogram cut into `patch_time` x `patch_freq` patches, embedded linearly.

    Huang et al., "Masked Autoencoders that Listen" (Audio-MAE), NeurIPS 2022. Each
    clip's spectrogram is standardised by its own mean and std over its real frames
    (so loudness does not matter); the targets are the standardised patches, on a
    time-major grid: tokens = (time, frequency).
    Frames past the end of a clip are padding: a token is valid when its first frame is.
    """

    def __init__(self, cfg: AudioConfig, sample_rate: int, samples: int, dim: int) -> None:
        super().__init__()
        if cfg.n_mels % cfg.patch_freq:
            raise ConfigError(f"audio.patch_freq={cfg.patch_freq} must divide audio.n_mels={cfg.n_mels}")
        self.samples, self.pt, self.pf = samples, cfg.patch_time, cfg.patch_freq
        self.logmel = LogMel(cfg, sample_rate)
        frames = self.logmel.frames(samples)
        self.frames = math.ceil(frames / self.pt) * self.pt
        self.grid = (self.frames // self.pt, cfg.n_mels // self.pf)
        self.patch_dim = self.pt * self.pf
        self.n_mels = cfg.n_mels
        self.proj = nn.Linear(self.patch_dim, dim)
        coords = grid_coords(*self.grid)
        self.register_buffer("coords", coords, persistent=False)
        self.register_buffer("pos", sincos(coords, dim)[None], persistent=False)

    def spectrogram(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised log-mel [B, n_mels, frames] (padded to whole patches) and frame validity."""
        if wave.dim() != 3 or wave.shape[1] != 1 or wave.shape[2] != self.samples:
            raise ValueError(f"audio tokenizer expects waveforms [B, 1, {self.samples}], got {list(wave.shape)}")
        logmel, valid = self.logmel(wave)
        w = valid[:, None].to(logmel.dtype)  # [B, 1, frames]
        n = (w.sum(-1, keepdim=True) * logmel.shape[1]).clamp_min(1)
        mean = (logmel * w).sum((1, 2), keepdim=True) / n
        std = ((((logmel - mean) ** 2) * w).sum((1, 2), keepdim=True) / n + 1e-5).sqrt()
        pad = self.frames - logmel.shape[-1]
        spec = nn.functional.pad(((logmel - mean) / std) * w, (0, pad))
        return spec, nn.functional.pad(valid, (0, pad), value=False)

    def patchify(self, spec: torch.Tensor) -> torch.Tensor:
        """[B, F, T] -> [B, N, pt*pf], tokens in (time, frequency) order."""
        b = spec.shape[0]
        gt, gf = self.grid
        x = spec.reshape(b, gf, self.pf, gt, self.pt).permute(0, 3, 1, 4, 2)  # [B, gt, gf, pt, pf]
        return x.reshape(b, gt * gf, self.pt * self.pf)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """[B, N, pt*pf] -> [B, F, T]."""
        b = patches.shape[0]
        gt, gf = self.grid
        x = patches.reshape(b, gt, gf, self.pt, self.pf).permute(0, 2, 4, 1, 3)  # [B, gf, pf, gt, pt]
        return x.reshape(b, self.n_mels, self.frames)

    def forward(self, wave: torch.Tensor) -> Tokens:
        spec, frame_valid = self.spectrogram(wave)
        patches = self.patchify(spec)
        valid = frame_valid[:, :: self.pt].repeat_interleave(self.grid[1], dim=1)  # [B, gt * gf]
        return Tokens(self.proj(patches), self.pos, self.coords, valid, patches, self.grid)

    def target_head(self, in_dim: int, cfg: ReconstructionConfig) -> PatchTarget:
        """Masked-modeling head: a linear map to the patch targets, cfg.loss (MSE or L1)."""
        return PatchTarget(in_dim, self.patch_dim, cfg.loss)

    def decode(self, target: torch.Tensor, tokens: Tokens | None = None) -> torch.Tensor:
        """Per-token targets back to standardised log-mel spectrograms [B, n_mels, frames]."""
        return self.unpatchify(target)

    def _image(self, spec: torch.Tensor) -> torch.Tensor:
        """Standardised log-mel -> a [B, 1, F, T] picture in [0, 1], low frequencies at the bottom."""
        return ((spec.flip(1).clamp(-3, 3) + 3) / 6)[:, None]

    def mask_input(self, wave: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The spectrogram picture with masked patches grey: mask [B, N] bool."""
        spec, _ = self.spectrogram(wave)
        return self._image(self.unpatchify(self.patchify(spec).masked_fill(mask.unsqueeze(-1), 0.0)))

    def raw_features(self, wave: torch.Tensor) -> torch.Tensor:
        """Mean and std of every mel band over the clip's frames, [B, 2 * n_mels]: the
        classic no-learning audio baseline."""
        spec, valid = self.spectrogram(wave)
        w = valid[:, None].to(spec.dtype)
        n = w.sum(-1).clamp_min(1)
        mean = (spec * w).sum(-1) / n
        std = (((spec - mean[..., None]) ** 2 * w).sum(-1) / n).sqrt()
        return torch.cat([mean, std], dim=1)

    def pictures(self, wave: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> dict:
        """Spectrogram, masked spectrogram and reconstruction, each [B, 1, F, T] in [0, 1]."""
        recon = torch.where((mask & tokens.valid).unsqueeze(-1), pred, tokens.target)
        return {
            "input": self._image(self.unpatchify(tokens.target)),
            "masked input": self.mask_input(wave, mask),
            "reconstruction": self._image(self.unpatchify(recon)),
        }


@MODALITIES.register("audio")
def build_audio_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> AudioTokenizer:
    return AudioTokenizer(cfg.audio, cfg.data.sample_rate, spec.shape[-1], dim)


build_audio_tokenizer.contract_example = contract_example  # the contract tests' data for this modality
