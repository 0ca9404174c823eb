"""Frame projections of a series: deterministic views in other domains instead of augmentations.

Demirel & Holz, "Learning Without Augmenting: Unsupervised Time Series Representation
Learning via Frame Projections", NeurIPS 2025. A series is seen in three domains: as
it is, in an orthonormal basis (the one-sided DFT, magnitude and phase) and in an
overcomplete frame (the magnitude of a complex Morlet continuous wavelet transform at
log-spaced scales). Both projections are computed on torch, batched, on the device of
the batch.
"""

from __future__ import annotations

import math

import torch


def centred(series: torch.Tensor) -> torch.Tensor:
    """Each channel minus its observed mean, NaN padding as 0: [B, C, T] -> [B, C, T].

    Zero is then 'no signal', so end padding adds nothing to either projection."""
    observed = ~torch.isnan(series)
    x = torch.where(observed, series, 0.0)
    mean = x.sum(-1, keepdim=True) / observed.sum(-1, keepdim=True).clamp_min(1)
    return torch.where(observed, x - mean, 0.0)


def fourier_frame(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal DFT of real series: [B, C, T] -> [B, 2C, T//2 + 1].

    Channels 0..C-1 hold the magnitudes of `rfft(norm="ortho")`, channels C..2C-1 the
    phases divided by pi (so in [-1, 1]). Magnitude and phase together keep the series.
    A bin with (next to) no energy, such as the mean bin of a centred series, gets phase
    0: its angle would be rounding noise that flips between -1 and 1.
    """
    spectrum = torch.fft.rfft(x, dim=-1, norm="ortho")
    magnitude = spectrum.abs()
    empty = magnitude <= 1e-5 * magnitude.amax(-1, keepdim=True)
    return torch.cat([magnitude, torch.where(empty, 0.0, spectrum.angle() / math.pi)], dim=1)


SMALLEST_SCALE = 3.0  # centre period 2 pi 3 / 6 = 3.1 samples: the finest Morlet that sampling does not alias


def morlet_scales(length: int, count: int, largest: float = 128.0) -> torch.Tensor:
    """`count` log-spaced scales from 3 to min(largest, length / 2) samples.

    Below 3 a w0 = 6 Morlet's centre frequency nears or passes Nyquist and its sampled
    form aliases, so the finest scale looks at periods of about 3 samples."""
    top = max(SMALLEST_SCALE, min(largest, length / 2))
    return torch.logspace(math.log10(SMALLEST_SCALE), math.log10(top), count)


def morlet_frame(x: torch.Tensor, scales: torch.Tensor, w0: float = 6.0) -> torch.Tensor:
    """Magnitude of the complex Morlet CWT: [B, C, T] -> [B, C * S, T] (channel-major).

    W(s, t) = sum_u x(u) conj(psi((u - t) / s)) / sqrt(s) with the Morlet wavelet
    psi(u) = pi^(-1/4) exp(i w0 u) exp(-u^2 / 2), computed in the frequency domain as
    IFFT(X(w) sqrt(2 pi s) psi_hat(s w)), psi_hat(w) = pi^(-1/4) exp(-(w - w0)^2 / 2)
    for w > 0 (analytic), with the series zero-padded to at least four times its
    length so the wavelet never wraps around. Scale s responds most to a period of
    2 pi s / w0 samples.
    """
    b, c, t = x.shape
    n = 1 << (4 * t - 1).bit_length()
    spectrum = torch.fft.fft(x, n=n, dim=-1)  # [B, C, n]
    w = 2 * math.pi * torch.fft.fftfreq(n, device=x.device, dtype=x.dtype)  # radians per sample
    sw = scales.to(x.device, x.dtype)[:, None] * w[None]  # [S, n]
    gain = (2 * math.pi * scales.to(x.device, x.dtype))[:, None].sqrt() * math.pi**-0.25
    psi = gain * torch.exp(-0.5 * (sw - w0) ** 2) * (w > 0)
    coefficients = torch.fft.ifft(spectrum[:, :, None] * psi, dim=-1)[..., :t]  # [B, C, S, T]
    return coefficients.abs().reshape(b, c * len(scales), t)


def rms_normalised(x: torch.Tensor) -> torch.Tensor:
    """Each sample divided by its root-mean-square over every channel and step, so
    relative energies between frequencies or scales survive."""
    rms = x.pow(2).mean(dim=(1, 2), keepdim=True).sqrt()
    return x / rms.clamp_min(1e-6)
