"""The config section `motion` (read by `config.py` without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass

from maskfuse.config_ranges import AT_LEAST_1, SHARE, Range


@dataclass
class Settings:
    frames: int = 32  # every sequence is resampled (linearly in time) to this many frames
    patch_frames: int = 4  # frames per token
    group_joints: int = 4  # joints per token, in the data's joint order (Kinect's 20: torso, arms, legs by 4)
    norm_pix: bool = False  # per-token normalised targets; False = centred coordinates (HumanMAC)
    up_axis: int = 1  # views: the coordinate (0: x, 1: y, 2: z) that points up; turns go about it
    max_turn: float = 0.5  # views: turn about the up axis by up to this share of a half turn
    time_crop: float = 0.7  # views: each view covers at least this share of the sequence
    frame_column: str = "frame"  # motion-table: the column of frame numbers
    joint_column: str = "joint"  # motion-table: the column of joint numbers (0 to J - 1)
    xyz_columns: tuple[str, ...] = ("x", "y", "z")  # motion-table: the three coordinate columns
    bones: tuple[str, ...] = ()  # stick-figure clips: the skeleton as joint pairs "a-b" (0-based, e.g.
    # [0-2,1-2]); empty: found from the training frames (the pairs whose distance varies least)


RANGES = {"frames": AT_LEAST_1, "patch_frames": AT_LEAST_1, "group_joints": AT_LEAST_1, "up_axis": Range(0, 2),
          "max_turn": SHARE, "time_crop": SHARE}  # fmt: skip
