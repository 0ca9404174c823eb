"""Frame projections: the DFT view keeps the series, the Morlet view matches the textbook sum."""

import math

import torch

from maskfuse.data.frames import centred, fourier_frame, morlet_frame, morlet_scales, rms_normalised


def test_fourier_frame_is_orthonormal_and_invertible():
    x = torch.randn(3, 2, 50, dtype=torch.float64)
    f = fourier_frame(x)
    assert f.shape == (3, 4, 26)
    magnitude, phase = f[:, :2], f[:, 2:] * math.pi
    # Parseval (ortho norm): bins 1..24 stand for their negative-frequency twins too
    energy = magnitude[..., 0] ** 2 + 2 * (magnitude[..., 1:-1] ** 2).sum(-1) + magnitude[..., -1] ** 2
    assert torch.allclose(energy, (x**2).sum(-1))
    back = torch.fft.irfft(torch.polar(magnitude, phase), n=50, dim=-1, norm="ortho")
    assert torch.allclose(back, x)


def test_a_bin_with_no_energy_has_phase_zero_not_rounding_noise():
    x = centred(torch.randn(64, 1, 40) * 3 + 5)  # the mean bin is ~1e-7: its raw angle is noise
    raw = torch.fft.rfft(x, dim=-1, norm="ortho")[..., 0].angle().abs()
    assert (raw > 1).any()  # without the rule some of these would read as +-1 after / pi
    f = fourier_frame(x)
    assert torch.all(f[:, 1, 0] == 0)
    assert torch.all(f[:, 1, 1:-1].abs() > 0)  # the others keep theirs (Nyquist is real: 0 or 1)


def naive_morlet(x: torch.Tensor, scale: float, w0: float = 6.0) -> torch.Tensor:
    """|sum_u x(u) conj(psi((u - t) / s))| / sqrt(s), term by term."""
    t = len(x)
    out = torch.zeros(t, dtype=torch.float64)
    for i in range(t):
        total = 0j
        for u in range(t):
            v = (u - i) / scale
            psi = math.pi**-0.25 * complex(math.cos(w0 * v), math.sin(w0 * v)) * math.exp(-(v**2) / 2)
            total += float(x[u]) * psi.conjugate()
        out[i] = abs(total) / math.sqrt(scale)
    return out


def test_morlet_frame_matches_the_textbook_sum():
    torch.manual_seed(0)
    x = torch.randn(1, 1, 48, dtype=torch.float64)
    scales = torch.tensor([3.0, 6.0, 12.0], dtype=torch.float64)
    w = morlet_frame(x, scales)
    assert w.shape == (1, 3, 48)
    for k, s in enumerate(scales.tolist()):
        ref = naive_morlet(x[0, 0], s)
        assert torch.allclose(w[0, k], ref, rtol=1e-3, atol=1e-3 * ref.max()), s


def test_morlet_frame_peaks_at_the_scale_of_a_sinusoid_period():
    t = torch.arange(256, dtype=torch.float64)
    scales = morlet_scales(256, 24)
    for period in (8.0, 32.0):
        x = torch.sin(2 * math.pi * t / period)[None, None]
        energy = morlet_frame(x, scales)[0, :, 64:192].mean(-1)
        best = float(scales[energy.argmax()])
        assert abs(best - 6.0 * period / (2 * math.pi)) / best < 0.15, (period, best)


def test_channels_stay_apart_channel_major():
    x = torch.zeros(1, 2, 64, dtype=torch.float64)
    x[0, 1] = torch.randn(64, dtype=torch.float64)
    w = morlet_frame(x, morlet_scales(64, 5))
    assert w.shape == (1, 10, 64) and w[0, :5].abs().max() == 0 and w[0, 5:].abs().max() > 0


def test_padding_adds_nothing_and_scales_are_bounded():
    x = torch.randn(1, 1, 30)
    padded = torch.cat([x, torch.full((1, 1, 10), float("nan"))], dim=-1)
    c = centred(padded)
    assert torch.isfinite(c).all() and c[..., 30:].abs().max() == 0
    assert torch.allclose(c[..., :30], x - x.mean(), atol=1e-6)
    s = morlet_scales(40, 6)
    assert abs(float(s[0]) - 3.0) < 1e-4 and abs(float(s[-1]) - 20.0) < 1e-4 and bool((s.diff() > 0).all())
    assert abs(float(morlet_scales(1000, 4)[-1]) - 128.0) < 1e-3
    n = rms_normalised(torch.randn(4, 3, 20) * 7)
    assert torch.allclose(n.pow(2).mean(dim=(1, 2)), torch.ones(4), atol=1e-5)
