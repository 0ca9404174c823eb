"""Fixed sin-cos positional embeddings over token coordinates of any number of axes."""

from __future__ import annotations

import torch


def sincos(coords: torch.Tensor, dim: int, base: float = 10000.0) -> torch.Tensor:
    """Sin-cos embedding of coordinates, as in MAE (2-D) generalised to A axes.

    The width is split evenly over the axes; each axis gets half sines, half cosines,
    and any remainder columns are zero.

    Args:
        coords: Token coordinates, [N, A].
        dim: Embedding width D.
        base: Wavelength base.

    Returns:
        Embeddings [N, D].
    """
    n, axes = coords.shape
    per_axis = (dim // axes) // 2 * 2
    if per_axis == 0:
        raise ValueError(f"width {dim} is too small for {axes}-axis sin-cos positions")
    half = per_axis // 2
    freqs = base ** (-torch.arange(half, dtype=torch.float64) / max(half, 1))  # [half]
    parts = []
    for a in range(axes):
        angles = coords[:, a].double()[:, None] * freqs[None, :]  # [N, half]
        parts += [torch.sin(angles), torch.cos(angles)]
    out = torch.cat(parts, dim=1).float()
    if out.shape[1] < dim:
        out = torch.cat([out, out.new_zeros(n, dim - out.shape[1])], dim=1)
    return out


def grid_coords(*sizes: int) -> torch.Tensor:
    """Coordinates of a row-major grid, [prod(sizes), len(sizes)]."""
    axes = torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in sizes], indexing="ij")
    return torch.stack([a.reshape(-1) for a in axes], dim=1)
