"""Config sections of what a method learns from: reconstruction, contrast, clusters,
teachers and paired modalities (split from `config.py`, which re-exports them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class ReconstructionConfig:
    loss: Literal["mse", "l1"] = "mse"  # error on the masked tokens' targets


@dataclass
class ContrastiveConfig:
    loss: str = "infonce"  # a registered objective that contrasts views (section "contrastive"):
    # infonce, dcl, hard-negatives, tau, ...
    views: int = 2  # augmented views per sample; > 2 gives multi-view InfoNCE
    temperature: float = 0.2  # softmax temperature of the contrastive objective
    hard_beta: float = 1.0  # hard-negatives: concentration on similar negatives (0 = InfoNCE)
    tau_rho: float = 0.1  # tau: robustness radius of the per-sample temperatures
    proj_hidden: int = 256  # hidden width of the projection head
    proj_dim: int = 64  # width of the projected embedding the loss compares
    gather: bool = True  # gather embeddings across ranks (with gradients) for negatives
    queue_size: int = 4096  # moco: keys of earlier batches kept as negatives
    momentum: float = 0.99  # moco: EMA momentum of the key encoder


@dataclass
class ClusterConfig:
    prototypes: int = 256  # sigma: learned prototypes the masked tokens are clustered into (SIGMA on
    # Kinetics-400: 3000; fewer suit small data, where a batch must still spread over all of them)
    dim: int = 128  # sigma: width of the features scored against the prototypes
    temperature: float = 0.1  # sigma: softmax temperature of the prototype scores (SwAV, SIGMA: 0.1)
    sinkhorn_eps: float = 0.05  # sigma: entropy weight of the Sinkhorn-Knopp assignment (smaller: harder)
    sinkhorn_iters: int = 3  # sigma: Sinkhorn-Knopp normalisation rounds (SwAV, SIGMA: 3)


@dataclass
class TeacherConfig:
    top_k: int = 3  # data2vec: the target averages the teacher's last k blocks
    momentum: float = 0.996  # EMA momentum of the teacher (data2vec, ijepa)
    path: str | None = None  # maskdistill / mrmae / maskalign: the frozen teacher, a run or export folder
    layers: int = 0  # frozen teacher: run only its first `layers` blocks (DMAE); 0 = all


@dataclass
class MultimodalConfig:
    shared_trunk: bool = True  # one trunk for every modality (with learned modality embeddings), or one each
    loss: str = "all-pairs"  # the clip and croma methods' registered cross-modal objective (section
    # "multimodal"): clip, all-pairs, siglip, symile, tcl, ...
    proj_dim: int = 64  # width of the shared embedding space (per-modality linear projections)
    temperature: float = 0.07  # initial temperature of clip / all-pairs / symile / tcl (learned, clamped)
    max_logit_scale: float = 100.0  # CLIP's clamp on 1 / temperature
    symile_negatives: Literal["n", "n2"] = "n"  # symile: O(N) or O(N^2) negatives per positive
    tcl_weight: float = 1.0  # tcl: weight of the intra-modal terms
    view_drop: float = 0.5  # tcl: share of tokens each intra-modal view drops
    token_drop: float = 0.0  # clip: share of tokens dropped before encoding (FLIP); 0 = none
    mask_ratios: tuple[str, ...] = ()  # m3ae / croma: "name:ratio" or "kind:ratio" (text:0.3); others mask.ratio
    mask_samplers: tuple[str, ...] = ()  # m3ae / croma: "name:sampler" or "kind:sampler" (image:block);
    # others mask.sampler
    dirichlet_alpha: float = 1.0  # multimae: concentration of the per-sample token budget across modalities
    joint_depth: int = 2  # croma: depth of the joint (cross-modal) encoder
    contrastive_weight: float = 1.0  # croma / m3ae / multimae: weight of the cross-modal contrastive term
    reconstruction_weight: float = 1.0  # croma / m3ae / multimae: weight of masked reconstruction
