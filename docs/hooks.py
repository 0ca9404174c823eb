"""mkdocs hooks: the pages that are generated from the code, so the docs cannot drift from it.

Markers in a page are replaced when the site is built:
- `<!-- generated: recipes -->`: every recipe with its description, modality and settings;
- `<!-- generated: config -->`: every config key with its default, type and description
  (maskfuse.config_docs, the same source as `maskfuse config show`);
- `<!-- readme: HEADING -->`: that `## HEADING` section of README.md, which stays the one copy;
- `<!-- example: NAME -->`: the source of examples/NAME.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- (generated|readme|example): ([^>]+?) -->")


def _value(v: object) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def recipes() -> str:
    from maskfuse.overrides import flatten
    from maskfuse.recipes import read_recipe, recipe_description, recipe_names

    rows = ["| recipe | what it does | modality | settings it sets |", "|---|---|---|---|"]
    for name in recipe_names():
        data = read_recipe(name)  # built-in recipes lie in recipes/ and in modality folders
        description = recipe_description(name)
        modality = data.pop("modality", None) or "any"
        sets = ", ".join(f"`{k}={_value(v)}`" for k, v in flatten(data).items())
        rows.append(f"| `{name}` | {_cell(description)} | {modality} | {_cell(sets)} |")
    return "\n".join(rows)


def config() -> str:
    from maskfuse.config_docs import settings

    parts, section = [], None
    for s in settings():
        head = s.key.split(".")[0] if "." in s.key else "top level"
        if head != section:
            section = head
            parts += ["", f"### {section}", "", "| key | default | type | what it does |", "|---|---|---|---|"]
        parts.append(f"| `{s.key}` | `{_cell(_value(s.default))}` | `{_cell(s.type)}` | {_cell(s.description)} |")
    return "\n".join(parts)


def readme(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not found:
        raise ValueError(f"README.md has no section '## {heading}'")
    return found.group(1).strip()


def example(name: str) -> str:
    return f"```python\n{(ROOT / 'examples' / f'{name}.py').read_text().rstrip()}\n```"


def on_page_markdown(markdown: str, **kwargs) -> str:
    makers = {"generated": {"recipes": recipes, "config": config}, "readme": None, "example": None}

    def replace(match: re.Match) -> str:
        kind, arg = match.group(1), match.group(2).strip()
        if kind == "readme":
            return readme(arg)
        if kind == "example":
            return example(arg)
        return makers["generated"][arg]()

    return MARKER.sub(replace, markdown)
