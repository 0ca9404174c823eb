"""Data-independent masks from filtered random noise: ColorMAE."""

from __future__ import annotations

import math
import zlib

import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.ops import masked_count, plan_from_priority, split_counts
from maskfuse.registry import SAMPLERS
from maskfuse.types import MaskPlan


def filtered_noise(shape: tuple[int, ...], color: str, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` noise fields [count, *shape] whose spectrum is shaped by `color`.

    White noise is filtered in the Fourier domain with a gain over the radial frequency
    r (cycles per token, 0 to ~0.7): red = low-pass exp(-(r/0.12)^2), blue = high-pass
    1 - exp(-(r/0.4)^2), green = band-pass around r = 0.25, purple = its complement
    (band-stop), white = unfiltered.
    """
    white = torch.randn(count, *shape, generator=generator, dtype=torch.float64)
    if color == "white":
        return white
    dims = tuple(range(1, len(shape) + 1))
    freqs = torch.meshgrid(*[torch.fft.fftfreq(s, dtype=torch.float64) for s in shape], indexing="ij")
    r = torch.sqrt(sum(f**2 for f in freqs))
    low = torch.exp(-((r / 0.12) ** 2))
    high = 1 - torch.exp(-((r / 0.4) ** 2))
    band = torch.exp(-(((r - 0.25) / 0.08) ** 2))
    gain = {"red": low, "blue": high, "green": band, "purple": 1 - band}[color]
    return torch.fft.ifftn(torch.fft.fftn(white, dim=dims) * gain, dim=dims).real


@SAMPLERS.register("noise")
class NoiseSampler:
    """ColorMAE (Hinojosa et al., ECCV 2024): mask the tokens where filtered noise is highest.

    Red noise gives large clustered masks, blue noise dispersed ones, green (ColorMAE's
    best) mid-sized blobs, purple a mix. A bank of noise fields is computed once per grid
    shape; each sample takes one at random with a random circular shift and flips, so
    sampling costs an argsort. The masked count is exact: the top `ratio` of the field.
    """

    def __init__(self, cfg: MaskConfig) -> None:
        self.ratio, self.color, self.bank_size = cfg.ratio, cfg.noise_color, cfg.noise_bank
        split_counts(2, self.ratio)
        if self.bank_size < 1:
            raise ValueError(f"mask.noise_bank must be >= 1, got {self.bank_size}")
        self._banks: dict[tuple[int, ...], torch.Tensor] = {}

    def bank(self, grid: tuple[int, ...]) -> torch.Tensor:
        if grid not in self._banks:
            seed = zlib.crc32(repr((self.color, grid)).encode())  # stable across processes, unlike hash()
            self._banks[grid] = filtered_noise(grid, self.color, self.bank_size, torch.Generator().manual_seed(seed))
        return self._banks[grid]

    def predicted(self, grid: tuple[int, ...]) -> int:
        """How many tokens a plan over `grid` predicts."""
        return masked_count(grid, self.ratio)

    def __call__(
        self,
        grid: tuple[int, ...],
        batch: int,
        generator: torch.Generator | None = None,
        valid: torch.Tensor | None = None,
        scores: torch.Tensor | None = None,  # unused: this sampler ignores the data
    ) -> MaskPlan:
        n = math.prod(grid)
        bank = self.bank(tuple(grid))
        pick = torch.randint(0, len(bank), (batch,), generator=generator)
        fields = bank[pick]  # [B, *grid]
        for axis, size in enumerate(grid, start=1):
            shifts = torch.randint(0, size, (batch,), generator=generator)
            index = (torch.arange(size)[None, :] - shifts[:, None]) % size  # [B, size] circular shift
            view = [batch] + [1] * len(grid)
            view[axis] = size
            fields = torch.gather(fields, axis, index.view(view).expand_as(fields))
            flip = torch.rand(batch, generator=generator) < 0.5
            fields = torch.where(flip.view(-1, *[1] * len(grid)), fields.flip(axis), fields)
        scores = fields.reshape(batch, n)
        if valid is not None:
            scores = scores.masked_fill(~valid.cpu(), float("inf"))  # padding is always "masked"
        return plan_from_priority(scores, self.predicted(grid))  # the highest noise is masked
