"""Skeleton sequences drawn as stick-figure clips, so motion can be read as video and paired
with it.

The bones are found from the data, so any skeleton draws without a joint table: rigid bones
keep their length, so the pairs of joints whose distance varies least over the training
frames, joined into a minimum spanning tree, are the skeleton. On MSR Action3D's 20 Kinect
joints (cross-subject training frames) that tree holds 17 of the 19 bones of the published
body model; the other two join a shoulder to the spine instead of the neck, and the knees
to each other instead of the right hip to its knee (leg tracking is the noisiest). Give
`motion.bones` to draw a known skeleton.

A clip is the sequence resampled to `frames` frames and seen from the front (the first
horizontal axis across, `up` upwards), scaled by one factor for the whole sequence so the
figure stays in view and keeps its proportions, each bone an anti-aliased line.
"""

from __future__ import annotations

import torch
from scipy.sparse.csgraph import minimum_spanning_tree

from maskfuse.modalities.motion.tokenizer import resample

CHUNK = 16  # sequences drawn at a time (bounds the [chunk, frames, bones, pixels] distances)


def bones(x: torch.Tensor) -> list[tuple[int, int]]:
    """The skeleton's bones (joint pairs, sorted) of sequences [N, 3, T, J] padded with NaN:
    the minimum spanning tree of how much each pair's distance varies over the frames."""
    frames = x.permute(0, 2, 3, 1).reshape(-1, x.shape[3], 3)  # [N * T, J, 3]
    frames = frames[~torch.isnan(frames).any(dim=(1, 2))].double()
    spread = torch.cdist(frames, frames).std(dim=0).numpy()  # [J, J]
    tree = minimum_spanning_tree(spread + 1e-9).tocoo()  # tiny offset: a zero weight is "no edge"
    return sorted((int(min(a, b)), int(max(a, b))) for a, b in zip(tree.row, tree.col))


def front(x: torch.Tensor, up: int) -> torch.Tensor:
    """[B, 3, T, J] -> [B, 2, T, J] (across, up) in [0, 1], one scale per sequence, centred."""
    across = 0 if up != 0 else 2
    pts = x[:, [across, up]]
    lo, hi = pts.amin(dim=(2, 3), keepdim=True), pts.amax(dim=(2, 3), keepdim=True)
    span = (hi - lo).amax(dim=1, keepdim=True).clamp_min(1e-6)
    return (pts - (lo + hi) / 2) / span + 0.5


def stick_figures(x: torch.Tensor, skeleton: list[tuple[int, int]], frames: int, size: int,
                  up: int = 1, margin: float = 0.08) -> torch.Tensor:  # fmt: skip
    """Sequences [B, 3, T, J] (NaN-padded) -> clips [B, 1, frames, size, size] in [0, 1]:
    white bones on black, `margin` of the frame left free on each side."""
    pts = front(resample(x, frames), up) * (1 - 2 * margin) + margin  # [B, 2, F, J]
    pts = pts * size
    a, b = torch.as_tensor(skeleton).T
    axis = torch.arange(size, dtype=pts.dtype) + 0.5
    pixel = torch.stack(torch.meshgrid(axis, size - axis, indexing="xy"), -1).reshape(-1, 2)  # (across, up)
    width = max(0.5, size / 64)  # half-width of a bone in pixels
    out = []
    for lo in range(0, len(pts), CHUNK):
        p = pts[lo : lo + CHUNK].permute(0, 2, 3, 1)  # [b, F, J, 2]
        start, end = p[:, :, a, None], p[:, :, b, None]  # [b, F, S, 1, 2]
        along = end - start
        t = ((pixel - start) * along).sum(-1) / (along * along).sum(-1).clamp_min(1e-9)
        nearest = start + t.clamp(0, 1)[..., None] * along
        distance = (pixel - nearest).norm(dim=-1).amin(dim=2)  # [b, F, pixels]
        ink = (width + 0.5 - distance).clamp(0, 1)
        out.append(ink.view(-1, 1, frames, size, size))
    return torch.cat(out).float()
