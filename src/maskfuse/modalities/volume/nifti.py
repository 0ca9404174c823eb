"""The data source "nifti-folder": a folder of NIfTI volumes (.nii / .nii.gz), read with
nibabel (the neuroimaging community's reader: every NIfTI-1 / NIfTI-2 variant, gzip,
scaling slopes), one volume at a time, batch by batch.

Class sub-folders give labels; a flat folder is unlabelled; the split is data.test_fraction
with data.split_seed. Every volume must have the first one's shape (a 4-D volume's last
axis is its channels): a file of another size, or one whose header nibabel cannot read,
is a DataError naming it, raised before anything is trained.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.base import FOLDER_SOURCES, Splits, source_path
from maskfuse.data.file_stack import FileStack, folder_layout, labelled_files
from maskfuse.data.npz import array_splits
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

SUFFIXES = (".nii", ".nii.gz")


def nibabel():
    try:
        import nibabel
    except ImportError as err:
        raise DataError("data.name=nifti-folder reads NIfTI with nibabel: pip install 'maskfuse[nifti]'") from err
    return nibabel


def header_shape(path: Path) -> tuple[int, ...]:
    """[C, D, H, W] of one file, from its header alone."""
    try:
        shape = tuple(int(s) for s in nibabel().load(path).shape)
    except Exception as err:  # nibabel raises several types for a damaged header
        raise DataError(f"{path}: not a readable NIfTI volume ({type(err).__name__}: {err})") from err
    if len(shape) == 3:
        return (1, *shape)
    if len(shape) == 4:
        return (shape[3], *shape[:3])
    raise DataError(f"{path}: a NIfTI of {len(shape)} axes; expected a 3-D volume or 4-D (channels last)")


def read_volume(path: Path, row: int) -> np.ndarray:
    """[C, D, H, W] float32 of one file (a `FileStack.read`)."""
    try:
        data = np.asarray(nibabel().load(path).get_fdata(dtype=np.float32))
    except Exception as err:  # a file changed or damaged since its header was read
        raise DataError(f"{path}: not a readable NIfTI volume ({type(err).__name__}: {err})") from err
    return data[None] if data.ndim == 3 else np.moveaxis(data, 3, 0)


@DATASETS.register("nifti-folder")
def load(cfg: DataConfig) -> Splits:
    """Every .nii / .nii.gz under data.path, labelled by class sub-folder when there are any."""
    folder = source_path(cfg.path, "folder of NIfTI volumes", "nifti-folder", folder=True)
    paths, y, classes = labelled_files(folder, SUFFIXES, "NIfTI volumes")
    shape = header_shape(paths[0])
    for p in paths[1:]:
        if header_shape(p) != shape:
            raise DataError(f"{p}: a volume of {list(header_shape(p))} (channels, depth, height, width); "
                            f"{paths[0].name} and the rest are {list(shape)}; resample them to one grid")  # fmt: skip
    plan = folder_layout("volumes", len(paths), y, classes, cfg, str(folder))
    z = {"volumes": FileStack(paths, shape, read_volume)}
    source = f"nifti-folder ({folder}: {len(paths)} volumes)"
    return array_splits(z, plan, shape, "volume", cfg.memory_mb, folder, source, [])


FOLDER_SOURCES.update(dict.fromkeys(SUFFIXES, "nifti-folder"))  # `--data FOLDER` of volumes reads here
