import pytest
import torch

from maskfuse.config import AugmentConfig
from maskfuse.errors import ConfigError
from maskfuse.modalities.audio.settings import Settings as AudioConfig
from maskfuse.modalities.audio.tokenizer import AudioTokenizer, LogMel, mel_filterbank
from maskfuse.modalities.audio.views import AudioViews

RATE = 8000


def tone(hz: float, seconds: float = 0.5, rate: int = RATE) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    return torch.sin(2 * torch.pi * hz * t)


def test_mel_filters_are_triangles_that_tile_the_band():
    fb = mel_filterbank(257, 20, RATE)
    assert fb.shape == (257, 20) and bool((fb >= 0).all())
    peaks = fb.argmax(0)
    assert bool((peaks.diff() > 0).all())  # centres rise with the band index
    mel_max = 2595 * torch.log10(torch.tensor(1 + 4000 / 700))
    centres = 700 * (10 ** (torch.linspace(0, float(mel_max), 22)[1:-1] / 2595) - 1)
    inside = (torch.linspace(0, 4000, 257) >= centres[0]) & (torch.linspace(0, 4000, 257) <= centres[-1])
    assert torch.allclose(fb[inside].sum(1), torch.ones(int(inside.sum())), atol=1e-5)  # partition of unity


def test_logmel_puts_a_tone_in_its_band_and_marks_padding_frames():
    logmel = LogMel(AudioConfig(n_mels=32), RATE)
    wave = torch.full((2, 1, 8000), float("nan"))
    wave[0, 0, :4000] = tone(1000)
    wave[1, 0, :4000] = tone(3000)
    spec, valid = logmel(wave)
    assert spec.shape == (2, 32, 8000 // 80 + 1)
    assert valid[0].sum() == 50 and valid[1].sum() == 50  # frames centred before sample 4000
    low, high = spec[0, :, :40].mean(-1).argmax(), spec[1, :, :40].mean(-1).argmax()
    fb = mel_filterbank(logmel.n_fft // 2 + 1, 32, RATE)
    bin_1k, bin_3k = round(1000 / 4000 * (logmel.n_fft // 2)), round(3000 / 4000 * (logmel.n_fft // 2))
    assert int(low) == int(fb[bin_1k].argmax()) and int(high) == int(fb[bin_3k].argmax())


def test_tokens_grid_round_trip_validity_and_loudness_invariance():
    cfg = AudioConfig(n_mels=16, patch_time=4, patch_freq=8)
    tok = AudioTokenizer(cfg, RATE, 4000, dim=16)  # 51 frames -> 52, grid (13, 2)
    assert tok.grid == (13, 2) and tok.patch_dim == 32
    wave = torch.full((2, 1, 4000), float("nan"))
    wave[0, 0] = tone(440, 0.5) + 0.01 * torch.randn(4000)
    wave[1, 0, :1600] = tone(880, 0.2)
    t = tok(wave)
    assert t.x.shape == (2, 26, 16) and torch.isfinite(t.x).all()
    assert t.valid[0].all() and t.valid[1].sum() == 2 * 5  # frames 0..19 real -> 5 time patches
    spec, _ = tok.spectrogram(wave)
    assert torch.equal(tok.unpatchify(tok.patchify(spec)), spec)
    assert torch.equal(tok.decode(t.target, t), spec)
    louder = tok(wave * 4.0)
    assert torch.allclose(louder.target[0], t.target[0], atol=1e-3)  # per-clip standardisation (noisy clip:
    # the pure tone of row 1 has bands at the log floor, where gain is not a pure shift)
    assert tok.raw_features(wave).shape == (2, 32)
    pics = tok.pictures(wave, t.valid & False, t.target, t)
    assert all(p.shape == (2, 1, 16, 52) and p.min() >= 0 and p.max() <= 1 for p in pics.values())


def test_patch_freq_must_divide_the_mel_bands():
    with pytest.raises(ConfigError, match="audio.patch_freq"):
        AudioTokenizer(AudioConfig(n_mels=20, patch_freq=8), RATE, 4000, dim=8)


def test_audio_views_keep_padding_and_are_identity_when_off():
    x = torch.full((3, 1, 800), float("nan"))
    x[:, 0, :600] = torch.randn(3, 600)
    off = AugmentConfig(shift=0.0, gain_db=0.0, noise_std=0.0, time_masks=0, freq_masks=0)
    assert torch.allclose(AudioViews(off)(x).nan_to_num(), x.nan_to_num())
    on = AudioViews(AugmentConfig())(x)
    assert torch.equal(torch.isnan(on), torch.isnan(x)) and not torch.allclose(on.nan_to_num(), x.nan_to_num())


def test_audio_frequency_masks_remove_a_band():
    torch.manual_seed(0)
    cfg = AugmentConfig(shift=0.0, gain_db=0.0, noise_std=0.0, time_masks=0, freq_masks=3)
    x = torch.randn(64, 1, 2048)
    out = AudioViews(cfg)(x)
    removed = torch.fft.rfft(out[:, 0]).abs() < 1e-3  # [B, bins]
    share = removed.float().mean(1)
    assert 0.0 < float(share.mean()) < 0.2 and float(share.max()) <= 0.3
