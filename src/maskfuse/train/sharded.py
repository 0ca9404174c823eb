"""FSDP2 (`torch.distributed.fsdp.fully_shard`): parameters, gradients and optimizer
state sharded over ranks, for trunks that do not fit one device (`train.fsdp=true`).

Every transformer block is its own shard group (gathered just before it runs, freed
after); the method's other parameters (tokenizers, heads, decoder embeddings) form the
root group, gathered for each training forward, and by `gathered` for code that calls
the backbone outside it (the online monitor).
Checkpoints stay in the unsharded format: `FullModel` and `FullOptimizer` present the
sharded model and optimizer with the `state_dict` / `load_state_dict` that
`maskfuse.checkpoint` uses, gathering to and scattering from full tensors with
`torch.distributed.checkpoint.state_dict`, so a sharded run resumes unsharded and the
other way round, and `maskfuse.load` reads its weights like any other run's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.fsdp import FSDPModule, fully_shard

from maskfuse.encoder import MultiBackbone
from maskfuse.errors import ConfigError
from maskfuse.nn.block import Block

FULL = StateDictOptions(full_state_dict=True)
GATHER = StateDictOptions(full_state_dict=True, cpu_offload=True)  # the full state on rank 0 alone


def shard_model(model: nn.Module) -> nn.Module:
    """Shard `model` in place: each block, then the whole method."""
    if isinstance(model.backbone, MultiBackbone):
        raise ConfigError("train.fsdp supports single-modality methods for now; paired methods use DDP")
    for module in model.modules():
        if isinstance(module, Block):
            fully_shard(module)
    fully_shard(model)
    return model


@contextlib.contextmanager
def gathered(model: nn.Module) -> Iterator[None]:
    """The root group's parameters whole for the duration (every rank must enter)."""
    if not isinstance(model, FSDPModule):
        yield
        return
    model.unshard()
    try:
        yield
    finally:
        model.reshard()


class FullModel:
    """A sharded model's weights as full tensors (rank 0 gets them when saving)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def state_dict(self) -> dict[str, torch.Tensor]:
        return get_model_state_dict(self.model, options=GATHER)

    def load_state_dict(self, weights: dict[str, torch.Tensor], strict: bool = True):
        return set_model_state_dict(self.model, weights, options=StateDictOptions(full_state_dict=True, strict=strict))


class FullOptimizer:
    """A sharded optimizer's state, keyed by parameter index like `Optimizer.state_dict`
    (torch's full optimizer state is keyed by parameter name)."""

    def __init__(self, model: nn.Module, opt: torch.optim.Optimizer) -> None:
        self.model, self.opt = model, opt

    def _names(self, state: dict) -> list[str]:
        return [name for group in state["param_groups"] for name in group["params"]]

    def state_dict(self) -> dict:
        state = get_optimizer_state_dict(self.model, self.opt, options=GATHER)
        if not state:  # ranks other than 0
            return {"state": {}, "param_groups": []}
        index = {name: i for i, name in enumerate(self._names(state))}
        groups = [{**g, "params": [index[n] for n in g["params"]]} for g in state["param_groups"]]
        return {"state": {index[n]: v for n, v in state["state"].items()}, "param_groups": groups}

    def load_state_dict(self, state: dict) -> None:
        names = self._names(get_optimizer_state_dict(self.model, self.opt, options=FULL))
        groups = [{**g, "params": [names[i] for i in g["params"]]} for g in state["param_groups"]]
        named = {"state": {names[int(i)]: v for i, v in state["state"].items()}, "param_groups": groups}
        set_optimizer_state_dict(self.model, self.opt, named, options=FULL)
