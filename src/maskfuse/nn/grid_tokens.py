"""Patch tokens over a grid of any number of axes: 3-D volumes, video as (time, height, width).

`GridTokenizer` is the tokenizer of every modality whose input is a dense array
[B, C, *sizes]: cut it into boxes of `patch` (one side per axis), embed each box linearly,
add sin-cos positions over the box grid. A modality folder builds it with its sizes and
its way of drawing a sample as an image (`draw`); it knows nothing of which modality it
serves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from maskfuse.config import ReconstructionConfig
from maskfuse.errors import ConfigError
from maskfuse.nn.pos import grid_coords, sincos
from maskfuse.nn.targets import PatchTarget
from maskfuse.types import Tokens


def sheet(panels: list[torch.Tensor]) -> torch.Tensor:
    """Panels [B, C, h, w] of one shape in a near-square grid, in reading order: one picture
    of a sample for the report (frames of a clip, slices of a volume, views of a cloud),
    [B, C, rows * h, across * w]; empty places stay zero."""
    across = math.ceil(math.sqrt(len(panels)))
    rows = -(-len(panels) // across)
    b, c, h, w = panels[0].shape
    out = panels[0].new_zeros(b, c, rows * h, across * w)
    for k, panel in enumerate(panels):
        r, col = divmod(k, across)
        out[:, :, r * h : (r + 1) * h, col * w : (col + 1) * w] = panel
    return out


def smallest_patch(sizes: tuple[int, ...], limit: int) -> int:
    """The smallest cube side that divides every size and leaves at most `limit` tokens; the
    largest common divisor when none does (30^3 with limit 216: 5, i.e. 6^3 tokens)."""
    common = 0
    for s in sizes:
        common = math.gcd(common, s)
    fits = [p for p in range(1, common + 1) if common % p == 0 and math.prod(s // p for s in sizes) <= limit]
    return fits[0] if fits else common


def patch_tokens(
    patches: torch.Tensor, embedded: torch.Tensor, pos: torch.Tensor, coords: torch.Tensor, grid: tuple[int, ...],
    norm_pix: bool,
) -> Tokens:  # fmt: skip
    """Tokens of a dense input cut into patches [B, N, P] (images, volumes, clips): the
    embeddings given, and the patch values as targets, each patch normalised by its own
    mean and std when `norm_pix` (MAE), the statistics kept for `denormalised`."""
    b, n, _ = patches.shape
    mean = std = None
    target = patches
    if norm_pix:
        mean = patches.mean(dim=-1, keepdim=True)
        std = (patches.var(dim=-1, keepdim=True, unbiased=False) + 1e-6).sqrt()
        target = (patches - mean) / std
    valid = torch.ones(b, n, dtype=torch.bool, device=patches.device)
    return Tokens(embedded, pos, coords, valid, target, grid, target_mean=mean, target_std=std)


def denormalised(target: torch.Tensor, tokens: Tokens | None, norm_pix: bool) -> torch.Tensor:
    """Per-patch targets (or predictions) at the true patches' mean and std again."""
    if not norm_pix:
        return target
    if tokens is None or tokens.target_mean is None:
        raise ValueError("decoding normalised targets needs the Tokens they came from")
    return target * tokens.target_std + tokens.target_mean


class GridTokenizer(nn.Module):
    """[B, C, *sizes] -> tokens of `patch`-shaped boxes in row-major grid order.

    Targets are the box values in (box axes..., channel) order; with `norm_pix` each box is
    normalised by its own mean and std (MAE) and `decode` puts them back. Inputs are
    standardised per channel with the training split's statistics (`mean`, `std`), kept
    with the weights so new data is read as in training.
    """

    def __init__(
        self,
        channels: int,
        sizes: tuple[int, ...],
        patch: tuple[int, ...],
        dim: int,
        norm_pix: bool = True,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        what: str = "input",
        draw: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if len(patch) != len(sizes) or any(p < 1 or s % p for s, p in zip(sizes, patch)):
            raise ConfigError(f"{what}: patch {list(patch)} must divide the {what} size {list(sizes)} on every axis")
        self.channels, self.sizes, self.patch, self.what = channels, tuple(sizes), tuple(patch), what
        self.draw = draw  # [B, C, *sizes] -> images [B, c, h, w] in [0, 1], for the report
        self.grid = tuple(s // p for s, p in zip(sizes, patch))
        self.norm_pix = norm_pix
        self.patch_dim = channels * math.prod(patch)
        self.proj = nn.Linear(self.patch_dim, dim)
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        view = (1, channels, *([1] * len(sizes)))
        self.register_buffer("in_mean", torch.tensor(mean or [0.0] * channels).view(view))
        self.register_buffer("in_std", torch.tensor(std or [1.0] * channels).view(view))
        coords = grid_coords(*self.grid)
        self.register_buffer("coords", coords, persistent=False)
        self.register_buffer("pos", sincos(coords, dim)[None], persistent=False)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, *sizes] -> [B, N, prod(patch) * C]."""
        if tuple(x.shape[1:]) != (self.channels, *self.sizes):
            raise ValueError(f"{self.what} tokenizer expects [B, {self.channels}, {', '.join(map(str, self.sizes))}], "
                             f"got {list(x.shape)}")  # fmt: skip
        a = len(self.sizes)
        split = [v for g, p in zip(self.grid, self.patch) for v in (g, p)]
        x = x.reshape(x.shape[0], self.channels, *split)  # [B, C, g0, p0, g1, p1, ...]
        order = [0, *range(2, 2 + 2 * a, 2), *range(3, 3 + 2 * a, 2), 1]  # B, grid axes, box axes, C
        return x.permute(order).reshape(x.shape[0], math.prod(self.grid), self.patch_dim)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """[B, N, prod(patch) * C] -> [B, C, *sizes]."""
        b, a = patches.shape[0], len(self.sizes)
        x = patches.reshape(b, *self.grid, *self.patch, self.channels)
        order = [0, 1 + 2 * a, *(v for i in range(a) for v in (1 + i, 1 + a + i))]  # B, C, g0, p0, g1, p1, ...
        return x.permute(order).reshape(b, self.channels, *self.sizes)

    def forward(self, x: torch.Tensor) -> Tokens:
        patches = self.patchify(x)  # checks the shape first
        embedded = self.proj(self.patchify((x - self.in_mean) / self.in_std))
        return patch_tokens(patches, embedded, self.pos, self.coords, self.grid, self.norm_pix)

    def target_head(self, in_dim: int, cfg: ReconstructionConfig) -> PatchTarget:
        """Masked-modeling head: a linear map to the box targets, cfg.loss (MSE or L1)."""
        return PatchTarget(in_dim, self.patch_dim, cfg.loss)

    def decode(self, target: torch.Tensor, tokens: Tokens | None = None) -> torch.Tensor:
        """Per-token targets (or predictions) back to [B, C, *sizes], at the true boxes'
        mean and std when the targets are normalised."""
        return self.unpatchify(denormalised(target, tokens, self.norm_pix))

    def mask_input(self, x: torch.Tensor, mask: torch.Tensor, fill: float | None = None) -> torch.Tensor:
        """The input with masked boxes set to `fill` (None: halfway between each sample's
        lowest and highest value, grey in a picture of any value range): mask [B, N] bool."""
        patches = self.patchify(x)
        if fill is None:
            flat = patches.flatten(1)
            middle = ((flat.amin(1) + flat.amax(1)) / 2).view(-1, 1, 1).expand_as(patches)
            return self.unpatchify(torch.where(mask.unsqueeze(-1), middle, patches))
        return self.unpatchify(patches.masked_fill(mask.unsqueeze(-1), fill))

    def reconstruction(self, x: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> torch.Tensor:
        """Predicted boxes pasted among the visible ones, [B, C, *sizes]."""
        return self.unpatchify(torch.where(mask.unsqueeze(-1), self.patchify(self.decode(pred, tokens)),
                                           self.patchify(x)))  # fmt: skip

    def pictures(self, x: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> dict:
        """Input, masked input and reconstruction, each drawn as images by `draw`."""
        if self.draw is None:
            return {}
        rows = {"input": x, "masked input": self.mask_input(x, mask), "reconstruction": self.reconstruction(
            x, mask, pred, tokens)}  # fmt: skip
        return {name: self.draw(row) for name, row in rows.items()}

    def show(self, x: torch.Tensor) -> torch.Tensor:
        """Raw inputs [B, C, *sizes] as the report's images (contrastive views, masked inputs)."""
        return x if self.draw is None else self.draw(x)

    def raw_features(self, x: torch.Tensor) -> torch.Tensor:
        """The input flattened to [B, C * prod(sizes)]: the no-learning baseline."""
        return x.reshape(len(x), -1)
