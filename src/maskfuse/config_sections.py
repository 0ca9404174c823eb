"""The config sections of modality folders: each `modalities/<name>/settings.py` becomes the
section `<name>` of `config.Config`, found on disk so that adding a modality edits nothing
in `config.py`."""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import field
from pathlib import Path

from maskfuse.config_ranges import RANGES


def modality_sections() -> list[tuple[str, type]]:
    """(name, dataclass) of each modality folder's settings (`modalities/<name>/settings.py`
    defines `Settings`, and `RANGES` for its numbers), which becomes the config section
    `<name>`. The folders are found on disk and only their settings modules are imported
    (no torch), so adding a modality edits nothing here."""
    root = Path(__file__).parent / "modalities"
    found = []
    for file in sorted(root.glob("*/settings.py")):
        name = file.parent.name
        module = importlib.import_module(f"maskfuse.modalities.{name}.settings")
        found.append((name, module.Settings))
        RANGES.update({f"{name}.{key}": allowed for key, allowed in getattr(module, "RANGES", {}).items()})
    return found


def with_modality_sections(core: type) -> type:
    """`core` plus one section per modality folder, as one dataclass named Config."""
    cls = dataclasses.make_dataclass(
        "Config", [(name, section, field(default_factory=section)) for name, section in modality_sections()],
        bases=(core,), namespace={"__doc__": "Every setting of a run: the core sections and each modality's own."},
    )  # fmt: skip
    cls.__module__ = "maskfuse.config"  # pickles (DataLoader workers) as maskfuse.config.Config
    return cls
