"""Contract of every paired multimodal method, with absent modalities in every batch."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits
from maskfuse.data.paired import PairedDataset, paired_spec, part_splits
from maskfuse.data.text import build_vocabulary, pad_ids, vocabulary_meta
from maskfuse.errors import ConfigError
from maskfuse.methods.build import build_method
from maskfuse.registry import METHODS
from maskfuse.types import DataSpec
from tests.conftest import small_config

PAIRED = [n for n in METHODS.names() if getattr(METHODS.get(n), "paired", False)]
SETTINGS = ["audio.n_mels=16", "data.max_seconds=0.25", "multimodal.proj_dim=8"]


def config(method: str, *extra: str):
    return small_config(method, **{f"x{i}": s for i, s in enumerate([*SETTINGS, *extra])})


def paired_data(n: int = 48) -> Splits:
    """Digit images, chirps whose pitch follows the digit, and its name as text; row i
    lacks audio when i % 5 == 1 and text when i % 7 == 2."""
    digits = load_digits()
    y = digits.target[:n]
    t = np.arange(2000) / 8000
    audio = np.stack([np.sin(2 * np.pi * (200 + 60 * c) * t) for c in y])[:, None].astype(np.float32)
    audio[::3, :, 1500:] = np.nan  # padding inside present clips
    texts = [f"digit {c} is {'even' if c % 2 == 0 else 'odd'}" for c in y]
    tok = build_vocabulary(texts, DataConfig(vocab="items"))
    ids = pad_ids(tok, [e.ids for e in tok.encode_batch(texts)], 4)
    present = torch.ones(n, 3, dtype=torch.bool)
    present[1::5, 1] = False
    present[2::7, 2] = False
    parts = {"image": torch.as_tensor(digits.images[:n, None] / 16.0, dtype=torch.float32),
             "audio": torch.as_tensor(np.where(present[:, 1, None, None].numpy(), audio, 0.0)),
             "text": torch.as_tensor(ids)}  # fmt: skip
    data = PairedDataset(parts, present, torch.as_tensor(y))
    spec = paired_spec(
        {"image": DataSpec("image", (1, 8, 8), (0.3,), (0.4,)), "audio": DataSpec("audio", (1, 2000), (0.0,), (0.7,)),
         "text": DataSpec("text", (4,), (0.0,), (1.0,), meta=vocabulary_meta(tok))},
        tuple(str(i) for i in range(10)),
    )  # fmt: skip
    return Splits(data.head(32), PairedDataset({k: v[32:] for k, v in parts.items()}, present[32:], data.labels[32:]),
                  spec, "synthetic paired")  # fmt: skip


@pytest.fixture(scope="module")
def paired():
    return paired_data()


@pytest.mark.parametrize("shared", ["true", "false"])
@pytest.mark.parametrize("name", PAIRED)
def test_paired_method_contract(name, shared, paired):
    if name in ("m3ae", "multimae") and shared == "false":
        with pytest.raises(ConfigError, match="shared_trunk must be true"):
            build_method(config(name, "multimodal.shared_trunk=false"), paired.spec)
        return
    cfg = config(name, f"multimodal.shared_trunk={shared}")
    model = build_method(cfg, paired.spec)
    batch = paired.train.batch(torch.arange(16))
    out = model(batch)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert all(isinstance(v, float) for v in out.logs.values())
    out.loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"{name}: parameters without a finite gradient: {missing}"
    for m in paired.spec.parts:  # every modality embeds alone, and into the shared space
        x = part_splits(paired, m).train.inputs[:5]
        assert model.backbone.part(m)(x).shape == (5, model.backbone.dim)
        z = model.backbone.shared(m, x)
        assert torch.allclose(z.norm(dim=-1), torch.ones(5), atol=1e-5)


@pytest.mark.parametrize("loss", ["clip", "siglip", "symile", "tcl"])
def test_clip_method_with_every_objective(loss, paired):
    cfg = config("clip", f"multimodal.loss={loss}")
    model = build_method(cfg, paired.spec)
    batch = paired.train.batch(torch.arange(16))
    if loss == "clip":  # three modalities: clip refuses, naming the alternatives
        with pytest.raises(ConfigError, match="all-pairs or symile"):
            model(batch)
        return
    out = model(batch)
    out.loss.backward()
    assert torch.isfinite(out.loss) and all(p.grad is not None for p in model.parameters())


def test_an_absent_modality_changes_nothing_it_should_not(paired):
    """The loss of a batch does not depend on what an absent cell holds."""
    cfg = config("croma")
    model = build_method(cfg, paired.spec).eval()
    batch = paired.train.batch(torch.arange(16))
    torch.manual_seed(3)
    a = model(batch).loss
    batch["audio"][~batch["present"][:, 1]] = 123.0
    torch.manual_seed(3)
    assert torch.allclose(model(batch).loss, a)


def test_single_and_paired_methods_refuse_the_other_data(paired):
    with pytest.raises(ConfigError, match="takes one modality"):
        build_method(small_config("mae"), paired.spec)
    single = DataSpec("image", (1, 8, 8), (0.3,), (0.4,))
    with pytest.raises(ConfigError, match="paired multimodal data"):
        build_method(small_config("clip"), single)


def test_m3ae_shows_each_modality_at_its_own_ratio(paired):
    cfg = config("m3ae", "multimodal.mask_ratios=[text:0.25]", "mask.ratio=0.75")
    model = build_method(cfg, paired.spec)
    from maskfuse.methods.paired import joint_tokens

    joint = joint_tokens(model.backbone, paired.train.batch(torch.arange(16)))
    shown = model.visible(joint)
    image, text = joint.spans["image"], joint.spans["text"]
    assert (shown[:, image].sum(1) == 4).all()  # 16 patches, 75 % hidden
    real_text = joint.valid[:, text].sum(1)
    want = torch.where(real_text > 0, (real_text - (real_text * 0.25).round().long()).clamp_min(1), real_text)
    assert torch.equal(shown[:, text].sum(1), want)


def test_multimae_spends_each_rows_budget_across_present_modalities(paired):
    cfg = config("multimae")
    model = build_method(cfg, paired.spec)
    from maskfuse.methods.paired import joint_tokens

    joint = joint_tokens(model.backbone, paired.train.batch(torch.arange(16)))
    shown = model.visible(joint)
    budget = ((1 - 0.75) * joint.valid.sum(1)).round()
    assert (shown & ~joint.valid).sum() == 0  # never an absent or padded token
    assert (shown.sum(1) <= budget).all() and (shown.sum(1) >= 1).all()
    per_modality = torch.stack([shown[:, s].sum(1) for s in joint.spans.values()], 1)
    assert per_modality.float().std(0).sum() > 0  # the split varies from row to row


def test_per_modality_samplers_and_ratios_by_name_or_kind(paired):
    from maskfuse.masking.block import BlockSampler

    cfg = config("croma", "multimodal.mask_samplers=[image:block]", "multimodal.mask_ratios=[text:0.25,image:0.5]")
    model = build_method(cfg, paired.spec)
    assert isinstance(model.masks.samplers["image"], BlockSampler) and "audio" not in model.masks.samplers
    assert model.masks.ratios == {"image": 0.5, "audio": 0.75, "text": 0.25}
    valid = torch.ones(64, 16, dtype=torch.bool)
    shown = model.masks("image", valid, (4, 4))
    assert (shown.sum(1) == 8).all()  # the block sampler hides exactly half of the 4 x 4 grid
    # blocks are spatially clustered: a hidden token has more hidden 4-neighbours than
    # under the random sampler at the same ratio
    plain = build_method(config("croma", "multimodal.mask_ratios=[image:0.5]"), paired.spec)

    def adjacency(shown):
        h = (~shown).float().reshape(-1, 4, 4)
        return float(((h[:, 1:] * h[:, :-1]).sum() + (h[:, :, 1:] * h[:, :, :-1]).sum()) / h.sum())

    assert adjacency(shown) > 1.2 * adjacency(plain.masks("image", valid, (4, 4)))
    out = model(paired.train.batch(torch.arange(16)))
    assert torch.isfinite(out.loss)


def test_per_modality_settings_are_checked(paired):
    with pytest.raises(ConfigError, match="'depth' is no modality or kind"):
        build_method(config("m3ae", "multimodal.mask_ratios=[depth:0.5]"), paired.spec)
    with pytest.raises(ConfigError, match="needs per-token scores"):
        build_method(config("m3ae", "multimodal.mask_samplers=[audio:guided]"), paired.spec)
    with pytest.raises(ConfigError, match="a mask ratio lies in"):
        build_method(config("croma", "multimodal.mask_ratios=[text:1.5]"), paired.spec)


@pytest.mark.parametrize("name", ["croma", "m3ae", "multimae"])
def test_only_the_clip_method_makes_the_second_views_tcl_needs(name, paired):
    with pytest.raises(ConfigError, match="needs two views"):
        build_method(config(name, "multimodal.loss=tcl"), paired.spec)


@pytest.mark.parametrize("name", PAIRED)
def test_a_modality_absent_from_the_whole_batch(name, paired):
    """Sparse modalities leave whole batches without them (audio's STFT refuses an
    empty batch): the loss and every gradient stay finite."""
    model = build_method(config(name), paired.spec)
    batch = paired.train.batch(torch.arange(16))
    batch["present"][:, 1] = False
    out = model(batch)
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
