"""The layers of the package, enforced: a module imports only from its own layer or below.

The order is the one ARCHITECTURE.md draws. Every `import` and `from ... import` of a
maskfuse module counts, at the top of a file or deferred inside a function, because a
deferred import is still a dependency. Within one layer, modules may use each other.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "maskfuse"

LAYERS = [
    # 0, the ground floor: contracts, errors, registries, settings, run-folder files, ranks
    {"errors", "types", "registry", "overrides", "config_ranges", "config_sections", "config_objectives", "recipes",
     "config", "config_docs", "progress",
     "checkpoint", "distributed", "version", "init_from"},
    # 1, components: each turns one thing into the next, knowing nothing of methods or runs
    {"nn", "masking", "objectives", "modalities", "data"},
    # 2, the encoder: tokenizers and the trunk
    {"encoder"},
    # 3, methods (with their builder and frozen teachers) and runs loaded back
    {"methods", "pretrained"},
    # 4, evaluation protocols and monitors
    {"evaluate"},
    # 5, training
    {"train"},
    # 6, what users call: reports, comparisons, sweeps, embedding files, the Python API
    {"report", "sweep", "embed_files", "export", "api"},
    # 7, the command line and the package's front door
    {"cli", "__init__", "__main__"},
]  # fmt: skip


def module_name(path: Path, root: Path = SRC) -> str:
    """src/maskfuse/data/base.py -> maskfuse.data.base; a package's __init__ is the package."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(("maskfuse", *(parts[:-1] if parts[-1] == "__init__" else parts)))


def layer_of(module: str) -> int:
    """The layer of `maskfuse.x.y`, by its first part below maskfuse (maskfuse itself: the top)."""
    top = module.split(".")[1] if "." in module else "__init__"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"maskfuse.{top} is in no layer: add it to LAYERS (and to ARCHITECTURE.md)")


def imports(path: Path, root: Path = SRC) -> list[tuple[int, str]]:
    """(line, module) of every maskfuse import in a file, relative ones resolved."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("maskfuse")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x / from ..data import y
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            if base == "maskfuse" or not node.module:  # from maskfuse import checkpoint / from . import x
                found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
            elif base.startswith("maskfuse."):
                found.append((node.lineno, base))
    return sorted(found)


def upward_imports(root: Path = SRC) -> list[str]:
    upward = []
    for path in sorted(root.rglob("*.py")):
        mine = layer_of(module_name(path, root))
        for line, target in imports(path, root):
            if layer_of(target) > mine:
                upward.append(
                    f"{path.relative_to(root)}:{line} (layer {mine}) imports {target} (layer {layer_of(target)})"
                )
    return upward


def test_no_import_runs_up_the_layers():
    found = upward_imports()
    assert not found, "imports that run up the layers:\n" + "\n".join(found)


def test_every_module_has_a_layer():
    for path in SRC.rglob("*.py"):
        layer_of(module_name(path))


def test_the_check_sees_an_upward_import(tmp_path):
    """A deferred import of train/ inside a data module is caught (the check cannot pass idly)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.py").write_text("def f():\n    from maskfuse.train import loop\n    from . import base\n")
    assert imports(tmp_path / "data" / "x.py", tmp_path) == [(2, "maskfuse.train"), (3, "maskfuse.data.base")]
    assert upward_imports(tmp_path) == ["data/x.py:2 (layer 1) imports maskfuse.train (layer 5)"]
