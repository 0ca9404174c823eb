"""The built-in recipes: YAML files in this folder, each a small diff against the defaults."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from maskfuse.errors import ConfigError, did_you_mean


def recipe_names() -> list[str]:
    folder = resources.files("maskfuse.recipes")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


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
        text = (resources.files("maskfuse.recipes") / f"{recipe}.yaml").read_text()
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
    text = (resources.files("maskfuse.recipes") / f"{name}.yaml").read_text()
    return str((yaml.safe_load(text) or {}).get("description", ""))
