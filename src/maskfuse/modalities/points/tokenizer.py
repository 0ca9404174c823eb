"""The point tokenizer: farthest-point sampling to G centres, each centre's K nearest points
relative to it, a mini-PointNet per group, and sin-cos positions of the centres
(Yu et al., Point-BERT, CVPR 2022; Pang et al., Point-MAE, ECCV 2022)."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config, ReconstructionConfig
from maskfuse.errors import ConfigError
from maskfuse.modalities.points.source import contract_example
from maskfuse.nn.decoder import sample_positions
from maskfuse.nn.grid_tokens import sheet
from maskfuse.objectives.chamfer import MaskedChamfer, chamfer
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec, LossOutput, Tokens

POSITION_SCALE = 16.0  # centres (about the unit sphere) are stretched so sin-cos positions tell them apart
HISTOGRAM = 8  # raw baseline: occupancy of an 8 x 8 x 8 grid over the cloud


def farthest_points(xyz: torch.Tensor, count: int) -> torch.Tensor:
    """Indices [B, count] of points picked one by one, each farthest from those picked,
    starting from point 0 (deterministic: the same cloud gives the same centres)."""
    b, p, _ = xyz.shape
    picked = torch.zeros(b, count, dtype=torch.long, device=xyz.device)
    nearest = torch.full((b, p), float("inf"), device=xyz.device, dtype=xyz.dtype)
    far = torch.zeros(b, dtype=torch.long, device=xyz.device)
    rows = torch.arange(b, device=xyz.device)
    for i in range(count):
        picked[:, i] = far
        nearest = torch.minimum(nearest, (xyz - xyz[rows, far][:, None]).pow(2).sum(-1))
        far = nearest.argmax(1)
    return picked


def group(points: torch.Tensor, groups: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clouds [B, P, C] -> (centres [B, G, 3], neighbours [B, G, K, C] with x, y, z made
    relative to their centre)."""
    xyz = points[..., :3]
    rows = torch.arange(len(points), device=points.device)[:, None]
    centres = xyz[rows, farthest_points(xyz, groups)]  # [B, G, 3]
    near = torch.cdist(centres, xyz).topk(size, dim=2, largest=False).indices  # [B, G, K]
    neighbours = points[rows[:, :, None], near]  # [B, G, K, C]
    return centres, torch.cat([neighbours[..., :3] - centres[:, :, None], neighbours[..., 3:]], dim=-1)


def projections(clouds: torch.Tensor, up: int = 2, side: int = 32) -> torch.Tensor:
    """[B, C, P] clouds (NaN points skipped) -> images [B, 1, 2 * side, 2 * side]: seen from
    above, the front and the side on one sheet, each cloud scaled to its own extent."""
    b = clouds.shape[0]
    xyz = clouds[:, :3].transpose(1, 2)  # [B, P, 3]
    seen = ~torch.isnan(xyz).any(-1)
    filled = xyz.nan_to_num(0.0)
    lo = torch.where(seen[..., None], filled, float("inf")).amin(1, keepdim=True)
    hi = torch.where(seen[..., None], filled, float("-inf")).amax(1, keepdim=True)
    span = (hi - lo).amax(-1, keepdim=True).clamp_min(1e-6)
    cells = ((filled - lo.nan_to_num(0.0)) / span * (side - 1)).round().long().clamp(0, side - 1)
    across, depth = [a for a in range(3) if a != up]
    sample = torch.arange(b)[:, None].expand_as(seen)
    views = []
    for col, row in [(across, depth), (across, up), (depth, up)]:
        image = torch.zeros(b, 1, side, side)
        image[sample[seen], 0, (side - 1 - cells[..., row])[seen], cells[..., col][seen]] = 1.0
        views.append(image)
    return sheet(views)


class PointTarget(nn.Module):
    """A linear map to each group's K points; Chamfer distance to the true ones."""

    def __init__(self, in_dim: int, size: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, size * 3)
        self.objective = MaskedChamfer()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.proj(h)

    def loss(self, pred: torch.Tensor, tokens: Tokens, mask: torch.Tensor) -> LossOutput:
        return self.objective(pred, tokens.target, mask, tokens.valid)

    def loss_of_hidden(self, h: torch.Tensor, tokens: Tokens, mask: torch.Tensor) -> LossOutput:
        return self.loss(self(h), tokens, mask)

    def per_token(self, pred: torch.Tensor, tokens: Tokens) -> torch.Tensor:
        b, n, _ = pred.shape
        return chamfer(pred.reshape(b * n, -1, 3), tokens.target.reshape(b * n, -1, 3)).view(b, n)


class PointTokenizer(nn.Module):
    """[B, C, P] clouds (x, y, z, then any features) -> G tokens of K points each."""

    def __init__(self, spec: DataSpec, groups: int, size: int, dim: int, up: int) -> None:
        super().__init__()
        channels, count = spec.shape
        if groups > count or size > count:
            raise ConfigError(f"points.groups={groups} and points.group_size={size} must not exceed the {count} "
                              "points of a cloud")  # fmt: skip
        self.groups, self.size, self.up = groups, size, up
        self.grid, self.patch_dim = (groups,), size * 3
        self.register_buffer("coords", torch.arange(groups, dtype=torch.float32)[:, None], persistent=False)
        self.register_buffer("in_std", torch.tensor(spec.std, dtype=torch.float32).clamp_min(1e-3))
        self.point_mlp = nn.Sequential(nn.Linear(channels, 64), nn.GELU(), nn.Linear(64, 128))
        self.proj = nn.Linear(128, dim)

    def forward(self, clouds: torch.Tensor) -> Tokens:
        centres, near = group(clouds.transpose(1, 2), self.groups, self.size)  # [B, G, 3], [B, G, K, C]
        x = self.proj(self.point_mlp(near / self.in_std).amax(dim=2))  # max over each group's points
        b, g = centres.shape[:2]
        where = centres * POSITION_SCALE
        return Tokens(
            x=x,
            pos=sample_positions(where, x.shape[-1]),
            coords=self.coords,
            valid=torch.ones(b, g, dtype=torch.bool, device=clouds.device),
            target=near[..., :3].flatten(2),
            grid=self.grid,
            sample_coords=where,
        )

    def target_head(self, in_dim: int, cfg: ReconstructionConfig) -> PointTarget:
        return PointTarget(in_dim, self.size)

    def decode(self, target: torch.Tensor, tokens: Tokens | None = None) -> torch.Tensor:
        """Per-group point sets (true or predicted) back to clouds [B, 3, G*K] around the centres."""
        if tokens is None or tokens.sample_coords is None:
            raise ValueError("decoding point groups needs the Tokens they came from (their centres)")
        b, g, _ = target.shape
        centres = tokens.sample_coords / POSITION_SCALE
        return (target.view(b, g, -1, 3) + centres[:, :, None]).reshape(b, -1, 3).transpose(1, 2)

    def mask_input(self, clouds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The points of the visible groups only (masked ones as NaN), [B, 3, G*K]."""
        tokens = self(clouds)
        return self._only(self.decode(tokens.target, tokens), ~mask)

    def pictures(self, clouds: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> dict:
        """The cloud, its visible groups, and those with the masked groups' predicted points."""
        visible = self._only(self.decode(tokens.target, tokens), ~mask)
        both = torch.where(torch.isnan(visible), self._only(self.decode(pred, tokens), mask), visible)
        return {"input": self.show(clouds), "masked input": self.show(visible), "reconstruction": self.show(both)}

    def _only(self, points: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        """Decoded clouds [B, 3, G*K] with the points of groups not chosen ([B, G] bool) as NaN."""
        return points.masked_fill(~groups.repeat_interleave(self.size, dim=1)[:, None], float("nan"))

    def show(self, clouds: torch.Tensor) -> torch.Tensor:
        return projections(clouds, self.up)

    def raw_features(self, clouds: torch.Tensor) -> torch.Tensor:
        """The no-learning baseline: the share of points in each cell of an 8 x 8 x 8 grid
        over the cloud's extent (point order carries nothing, so the flat coordinates
        would be no baseline at all)."""
        xyz = clouds[:, :3].transpose(1, 2)
        lo, hi = xyz.amin(1, keepdim=True), xyz.amax(1, keepdim=True)
        cells = ((xyz - lo) / (hi - lo).amax(-1, keepdim=True).clamp_min(1e-6) * HISTOGRAM).long()
        cells = cells.clamp(0, HISTOGRAM - 1)
        flat = (cells[..., 0] * HISTOGRAM + cells[..., 1]) * HISTOGRAM + cells[..., 2]
        counts = torch.zeros(len(clouds), HISTOGRAM**3, device=clouds.device).scatter_add_(
            1, flat, torch.ones_like(flat, dtype=torch.float32))  # fmt: skip
        return counts / xyz.shape[1]


@MODALITIES.register("points")
def build_point_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> PointTokenizer:
    p = cfg.points
    return PointTokenizer(spec, p.groups, p.group_size, dim, p.up_axis)


build_point_tokenizer.contract_example = contract_example  # the contract tests' data for this modality
