"""What the arrays of an .npz archive are: inputs, labels, class names and the split.

By default the arrays carry maskfuse's names (`images` or `series`, `labels`,
`test_images` / `test_series`, `test_labels`). Archives made elsewhere often name them
otherwise (`X`, `y`, a `split` array of "train" / "test" strings, a `classes` list), and
the user says which is which: `data.arrays=[series:X,labels:y,split:split,classes:classes]`.
Nothing is guessed: an archive without an input array under a known name or a named
role is an error that lists its arrays and the setting to use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskfuse.data.base import given_split, split_indices
from maskfuse.errors import DataError

INPUTS = ("images", "series")  # input roles every archive source knows; a modality folder's source adds its own
SOURCES = {"series": "series-npz"}  # input array name -> the source that reads an archive holding it
# (else the image "npz" source); a modality folder's source adds its own, e.g. volumes
OTHER_ROLES = ("labels", "test_labels", "split", "classes", "mask_scores", "test_mask_scores")


def roles_for(inputs: tuple[str, ...]) -> tuple[str, ...]:
    """Every role name an archive may use, given the input kinds (images, volumes, ...)."""
    return (*inputs, *(f"test_{kind}" for kind in inputs), *OTHER_ROLES)


@dataclass
class Part:
    """One split: the array holding it, its rows there, and labels over all of that array's rows."""

    key: str
    rows: np.ndarray
    labels: np.ndarray | None


@dataclass
class Layout:
    """Where each split of an archive lies, and what its classes are called."""

    inputs: str  # "images" or "series": what the archive holds
    train: Part
    test: Part
    class_names: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)  # role -> array key
    notes: list[str] = field(default_factory=list)


def roles_of(named: tuple[str, ...], keys: list[str], path: Path, inputs: tuple[str, ...] = INPUTS) -> dict[str, str]:
    """Role -> array key: the user's `data.arrays` entries ("role:key"), then every array
    already named after a role."""
    ROLES = roles_for(inputs)  # noqa: N806
    roles: dict[str, str] = {}
    for entry in named:
        role, sep, key = entry.partition(":")
        if not sep or role not in ROLES:
            raise DataError(f"data.arrays: '{entry}' should be role:array, with role one of {', '.join(ROLES)}")
        if key not in keys:
            raise DataError(f"{path}: data.arrays names '{key}' as {role}, but the archive holds {sorted(keys)}")
        roles[role] = key
    taken = set(roles.values())
    roles.update({r: r for r in ROLES if r in keys and r not in roles and r not in taken})
    return roles


def layout(
    z: dict, named: tuple[str, ...], path: Path, test_fraction: float, seed: int, checks: dict[str, Callable]
) -> Layout:
    """The archive's layout (`z`: its arrays by key, not read yet); `checks[kind](key)`
    validates an input array of that kind ("images", "series", or a modality folder's own,
    such as "volumes") before anything else."""
    inputs = tuple(dict.fromkeys((*INPUTS, *checks)))
    roles = roles_of(named, sorted(z), path, inputs)
    kinds = [k for k in inputs if k in roles]
    if len(kinds) != 1:
        listed = " or ".join(f"'{k}'" for k in inputs)
        what = f"both {' and '.join(repr(k) for k in kinds)}" if kinds else f"no {listed} array"
        raise DataError(
            f"{path}: {what}; found {sorted(z)}. Name the arrays, for example "
            "data.arrays=[images:X,labels:y] (or series:X for time series, split:NAME for a train/test column, "
            "classes:NAME for class names)"
        )
    kind = kinds[0]
    x = roles[kind]
    if kind not in checks:
        raise DataError(f"{path}: holds {kind} ('{x}'); this source reads {' or '.join(checks)}")
    for key in {x, roles.get(f"test_{kind}", x)}:
        checks[kind](key)
    names, notes = _class_names(z, roles, path), []
    y = _labels(z, roles, "labels", len(z[x]), path, names)
    test_key = roles.get(f"test_{kind}")
    if test_key is not None:
        te_y = _labels(z, roles, "test_labels", len(z[test_key]), path, names)
        train, test = Part(x, np.arange(len(z[x])), y), Part(test_key, np.arange(len(z[test_key])), te_y)
    elif "split" in roles:
        tr, te = _given_split(np.asarray(z[roles["split"]][()]), len(z[x]), roles["split"], path)
        train, test = Part(x, tr, y), Part(x, te, y)
        notes.append(f"{path.name}: the '{roles['split']}' array gives the split ({len(tr)} train, {len(te)} test)")
    else:
        tr, te = split_indices(len(z[x]), y, test_fraction, seed, str(path))
        train, test = Part(x, tr, y), Part(x, te, y)
    return Layout(kind, train, test, tuple(names), roles, notes)


def _class_names(z: dict, roles: dict[str, str], path: Path) -> list[str]:
    """Class names from the `classes` array, or from labels that are strings (sorted)."""
    if "classes" in roles:
        names = np.asarray(z[roles["classes"]][()])
        if names.ndim != 1:
            raise DataError(f"{path}: '{roles['classes']}' (classes) must be a list of names, got shape {names.shape}")
        return [str(n) for n in names.tolist()]
    found = set()
    for role in ("labels", "test_labels"):
        if role in roles and np.asarray(z[roles[role]][()]).dtype.kind in "US":
            found |= {str(v) for v in np.asarray(z[roles[role]][()]).tolist()}
    return sorted(found)


def _labels(z: dict, roles: dict[str, str], role: str, n: int, path: Path, names: list[str]) -> np.ndarray | None:
    """Integer class ids [n]: given as non-negative integers (below the number of class
    names when there are names), or as strings, looked up among the names."""
    if role not in roles:
        return None
    key = roles[role]
    y = np.asarray(z[key][()])
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{path}: {_named(key, role)} must be a vector of {n} labels, got shape {list(y.shape)}")
    if y.dtype.kind in "US":
        index = {name: i for i, name in enumerate(names)}
        missing = [str(v) for v in y.tolist() if str(v) not in index]
        if missing:
            raise DataError(f"{path}: '{key}' holds the label '{missing[0]}', which the class names do not list")
        return np.asarray([index[str(v)] for v in y.tolist()], dtype=np.int64)
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise DataError(f"{path}: {_named(key, role)} must hold non-negative integer class ids or names, got {y.dtype}")
    if names and len(y) and y.max() >= len(names):
        raise DataError(f"{path}: '{key}' holds class id {int(y.max())}, but there are {len(names)} class names")
    return y.astype(np.int64)


def _named(key: str, role: str) -> str:
    """'y' (labels), or 'labels' when the array carries the role's own name."""
    return f"'{key}'" if key == role else f"'{key}' ({role})"


def _given_split(values: np.ndarray, n: int, key: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) rows from an array of "train" / "test" (or "val") markers, one per row."""
    if values.shape != (n,):
        raise DataError(f"{path}: '{key}' (split) must hold one marker per row ({n}), got shape {list(values.shape)}")
    markers, codes = np.unique(values.astype(str), return_inverse=True)
    return given_split(codes, markers.tolist(), f"{path}: '{key}'", lambda row: f"{path}: '{key}' row {row}")
