"""The built-in recipes: YAML files in this folder and in each modality folder's `recipes/`
(`modalities/<name>/recipes/*.yaml`), each a small diff against the defaults."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from maskfuse.errors import ConfigError, did_you_mean


def _recipe_files() -> dict[str, Path]:
    """Name -> file of every built-in recipe."""
    here = Path(str(resources.files("maskfuse.recipes")))
    files = [*here.glob("*.yaml"), *(here.parent / "modalities").glob("*/recipes/*.yaml")]
    return {p.name[: -len(".yaml")]: p for p in sorted(files)}


def recipe_names() -> list[str]:
    return sorted(_recipe_files())


def read_recipe(recipe: str | Path) -> dict[str, Any]:
    """Read a recipe by name (a file in maskfuse/recipes) or by path to a YAML file."""
    path = Path(recipe)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"recipe file {path} does not exist")
        text = path.read_text()
        where = str(path)
    else:
        if str(recipe) not in recipe_names():
            hint = did_you_mean(str(recipe), recipe_names())
            raise ConfigError(f"unknown recipe '{recipe}'{hint}; known: {', '.join(recipe_names())}")
        text = _recipe_files()[str(recipe)].read_text()
        where = f"recipe {recipe}"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{where} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    data.pop("description", None)
    return data


def recipe_description(name: str) -> str:
    text = _recipe_files()[name].read_text()
    return str((yaml.safe_load(text) or {}).get("description", ""))
