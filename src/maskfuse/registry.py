"""Name -> builder registries, so recipes pick components by name and tests can iterate them."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from maskfuse.errors import ConfigError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of builders filled by the `register` decorator."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = item
            return item

        return add

    def get(self, name: str) -> T:
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "none"
            raise ConfigError(f"unknown {self.kind} '{name}'{did_you_mean(name, self._items)}; known: {known}")
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


SAMPLERS: Registry = Registry("mask sampler")
OBJECTIVES: Registry = Registry("objective")
METHODS: Registry = Registry("method")
DATASETS: Registry = Registry("dataset")
MODALITIES: Registry = Registry("modality")
EVALUATIONS: Registry = Registry("evaluation protocol")
TRACKERS: Registry = Registry("tracker")


def import_all(package: str, path: Iterable[str]) -> None:
    """Import every module of a package and of its sub-packages (`import_all(__name__, __path__)`
    in its __init__), so each component registers itself: adding one is adding a file (or a
    folder), with no import list to edit."""
    for module in pkgutil.walk_packages(path, f"{package}."):
        importlib.import_module(module.name)
