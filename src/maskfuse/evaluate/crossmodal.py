"""Evaluation of a shared multimodal space: retrieval, zero-shot, missing-modality robustness.

All three read unit embeddings in the shared space (`MultiBackbone.shared`) of the
held-out split; rows lacking a modality are left out of whatever needs it.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from maskfuse.data.base import ArrayDataset
from maskfuse.data.paired import PairedDataset
from maskfuse.data.text import encode_with_spec
from maskfuse.encoder import MultiBackbone, embed_dataset
from maskfuse.types import DataSpec


@torch.no_grad()
def shared_embeddings(backbone: MultiBackbone, data: PairedDataset, batch_size: int = 512) -> dict[str, torch.Tensor]:
    """Modality -> [N, P] unit embeddings on the CPU (zero rows where it is absent)."""
    device = next(backbone.parameters()).device
    was_training = backbone.training
    backbone.eval()
    out = {}
    for m in backbone.names:
        rows = data.rows_of(m)
        z = torch.zeros(len(data), backbone.heads[m].out_features)
        if len(rows):
            pooled = embed_dataset(backbone.part(m), ArrayDataset(data.parts[m][rows]), batch_size)
            z[rows] = backbone.project(m, pooled.to(device)).float().cpu()
        out[m] = z
    backbone.train(was_training)
    return out


def retrieval(query: torch.Tensor, keys: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
    """Query row i's match is key row i. R@1/5/10 (%), median rank (1 = first), and with
    labels the share whose top-1 key has the query's class (class R@1, %).

    A key that scores as high as the match ranks before it: ties count against the
    query, so an embedding that cannot tell rows apart (a collapsed one) ranks every
    match last instead of first."""
    sims = query @ keys.T
    true = sims.diagonal()[:, None]
    rank = (~(sims < true)).sum(1)  # every key not strictly below the match (NaN included), itself too
    out = {f"R@{k}": float((rank <= k).float().mean() * 100) for k in (1, 5, 10)}
    out["median_rank"] = float(rank.float().median())
    out["rows"] = int(len(query))
    if labels is not None:
        out["class_R@1"] = float((labels[sims.argmax(1)] == labels).float().mean() * 100)
    return out


def all_retrieval(z: dict[str, torch.Tensor], data: PairedDataset) -> dict[str, dict[str, float]]:
    """Retrieval for every ordered pair of modalities, over rows that hold both."""
    out = {}
    for a, b in permutations(z, 2):
        both = data.present[:, data.names.index(a)] & data.present[:, data.names.index(b)]
        labels = None if data.labels is None else data.labels[both]
        out[f"{a}->{b}"] = retrieval(z[a][both], z[b][both], labels)
    return out


def joint_retrieval(z: dict[str, torch.Tensor], data: PairedDataset) -> dict[str, dict[str, float]]:
    """With 3+ modalities: each modality retrieved from all the others together, scored by
    the multilinear inner product (Symile's score: sum_d x_d y_d z_d), over rows holding
    every modality. "audio,text->image" ranks every image by its product with row i's
    audio and text embeddings."""
    if len(z) < 3:
        return {}
    full = data.present.all(1)
    labels = None if data.labels is None else data.labels[full]
    out = {}
    for target in z:
        others = [m for m in z if m != target]
        context = torch.stack([z[m][full] for m in others]).prod(0)
        out[f"{','.join(others)}->{target}"] = retrieval(context, z[target][full], labels)
    return out


def zero_shot(target: torch.Tensor, labels: torch.Tensor, prototypes: torch.Tensor) -> float:
    """Accuracy (%) of assigning each target embedding the class of its nearest prototype [C, P]."""
    unit = torch.nn.functional.normalize(prototypes, dim=-1)
    return float(((target @ unit.T).argmax(1) == labels).float().mean() * 100)


def support_prototypes(z: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor, classes: int) -> torch.Tensor:
    """Mean embedding of each class over `rows` (a support set): [C, P]."""
    proto = torch.zeros(classes, z.shape[1])
    proto.index_add_(0, labels[rows], z[rows])
    return proto


@torch.no_grad()
def prompt_prototypes(backbone: MultiBackbone, name: str, spec: DataSpec, prompts: list[list[str]]) -> torch.Tensor:
    """Class prototypes [C, P] from text: `prompts[c]` holds class c's prompts (one per
    template), each embedded through text modality `name`; a class's prototype is the
    mean of its prompts' unit embeddings (CLIP's prompt ensembling)."""
    device = next(backbone.parameters()).device
    backbone.eval()
    flat = [text for per_class in prompts for text in per_class]
    z = backbone.shared(name, encode_with_spec(spec, flat).to(device)).float().cpu()
    return z.view(len(prompts), -1, z.shape[1]).mean(1)


def prompt_sets(spec: DataSpec, user_template: str | None) -> dict[str, tuple[str, ...]]:
    """Named sets of zero-shot templates ("{}" = the class name).

    The user's template (eval.zeroshot_prompt) when given; else the data's held-out
    templates, which no training caption uses (digits-av), or the bare class name. A
    template the training captions do use is scored apart, under a name that says so:
    prompting with a training caption measures recall of captions, not zero-shot transfer."""
    meta = spec.meta
    if user_template is not None:
        sets = {f"class names, prompt '{user_template}'": (user_template,)}
    elif meta.get("heldout_prompts"):
        sets = {"class names, held-out prompts": tuple(meta["heldout_prompts"])}
    else:
        sets = {"class names": ("{}",)}
    if meta.get("caption_prompt"):
        sets["class names, training-caption prompt"] = (meta["caption_prompt"],)
    return sets


def missing_robustness(
    train: dict[str, torch.Tensor], train_y: torch.Tensor, test: dict[str, torch.Tensor], test_y: torch.Tensor
) -> dict[str, float]:
    """A logistic-regression probe on the joint embedding (the mean of every modality's
    shared embedding) of the training split, scored on the test split with all
    modalities and with each one dropped (the mean over the rest). Accuracy in %."""

    def joint(z: dict[str, torch.Tensor], names: list[str]) -> np.ndarray:
        return torch.stack([z[m] for m in names]).mean(0).numpy()

    names = list(train)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(joint(train, names), train_y.numpy())
    out = {"all": float(probe.score(joint(test, names), test_y.numpy()) * 100)}
    for m in names:
        out[f"without {m}"] = float(probe.score(joint(test, [n for n in names if n != m]), test_y.numpy()) * 100)
    return out


def zero_shot_table(
    backbone: MultiBackbone, spec: DataSpec, train: PairedDataset, z_train, test: PairedDataset, z_test,
    prompts: dict[str, tuple[str, ...]],
) -> dict[str, float]:  # fmt: skip
    """Zero-shot accuracy of each modality's test rows against class prototypes from
    every other modality: its training rows' class means ("<m> support"), and for text
    modalities the class names embedded through each set of `prompts` ("<m> <set name>")."""
    classes = len(spec.class_names)
    prototypes = {}  # name -> (source modality, [C, P]), computed once for every target
    for source in backbone.names:
        support = support_prototypes(z_train[source], train.labels, train.rows_of(source), classes)
        prototypes[f"{source} support"] = (source, support)
        if spec.parts[source].modality != "text":
            continue
        for set_name, templates in prompts.items():
            texts = [[t.format(c) for t in templates] for c in spec.class_names]
            named = prompt_prototypes(backbone, source, spec.parts[source], texts)
            prototypes[f"{source} {set_name}"] = (source, named)
    out = {}
    for target in backbone.names:
        rows = test.rows_of(target)
        for name, (source, proto) in prototypes.items():
            if source != target:
                out[f"{name} -> {target}"] = zero_shot(z_test[target][rows], test.labels[rows], proto)
    return out


def crossmodal_results(backbone: MultiBackbone, spec: DataSpec, train: PairedDataset, test: PairedDataset,
                       prompt: str | None, batch_size: int) -> dict:  # fmt: skip
    """Retrieval for every ordered pair, and with labels zero-shot and missing-modality
    robustness, of one multimodal backbone."""
    z_test = shared_embeddings(backbone, test, batch_size)
    out: dict = {"retrieval": all_retrieval(z_test, test)}
    if len(z_test) >= 3:
        out["joint_retrieval"] = joint_retrieval(z_test, test)
    if train.labels is None or test.labels is None or not spec.class_names:
        return out
    z_train = shared_embeddings(backbone, train, batch_size)
    out["zeroshot"] = zero_shot_table(backbone, spec, train, z_train, test, z_test, prompt_sets(spec, prompt))
    full_tr, full_te = train.present.all(1), test.present.all(1)
    out["missing"] = missing_robustness(
        {m: z[full_tr] for m, z in z_train.items()}, train.labels[full_tr],
        {m: z[full_te] for m, z in z_test.items()}, test.labels[full_te],
    )  # fmt: skip
    return out
