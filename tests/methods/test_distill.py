"""Frozen-teacher methods: MaskDistill / DMAE, MR-MAE and MaskAlign."""

import pytest
import torch
import torch.nn.functional as F

import maskfuse
from maskfuse.data import load_data
from maskfuse.errors import ConfigError
from maskfuse.masking.ops import gather
from maskfuse.methods.build import build_method
from tests.conftest import small_config, teacher_run


@pytest.fixture(scope="module")
def digits():
    return load_data(small_config().data)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, digits):
    return teacher_run(tmp_path_factory.mktemp("teacher"), small_config("mae", d="model.depth=3"), digits.spec)


def build(name, teacher, digits, *extra):
    cfg = small_config(name, t=f"teacher.path={teacher}", **{f"e{i}": e for i, e in enumerate(extra)})
    return build_method(cfg, digits.spec)


def test_teacher_is_frozen_in_eval_mode_and_never_moves(teacher, digits):
    model = build("maskdistill", teacher, digits)
    model.train()
    assert not model.teacher.training and not model.teacher.backbone.training
    before = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    model(digits.train.batch(torch.arange(16))).loss.backward()
    opt.step()
    assert all(torch.equal(before[k], v) for k, v in model.teacher.state_dict().items())
    assert all(not p.requires_grad for p in model.teacher.parameters())


def test_maskdistill_regresses_layer_normed_teacher_features_of_masked_tokens(teacher, digits):
    model = build("maskdistill", teacher, digits)
    x = digits.train.batch(torch.arange(6))["image"]
    torch.manual_seed(3)
    out = model({"image": x})
    torch.manual_seed(3)  # the same mask again, by hand
    tokens = model.backbone.tokenizer(x)
    mask = model.sampler(tokens.grid, len(x)).mask
    full = maskfuse.load(teacher).backbone.forward_features(x).tokens
    target = F.layer_norm(full, (full.shape[-1],))
    seen = tokens.x + 0  # student input: mask token at masked places
    seen[mask] = model.mask_token
    pred = model.head(model.backbone.encoder(seen + tokens.pos, tokens.valid).tokens)
    errors = [F.smooth_l1_loss(pred[b, n], target[b, n]) for b in range(6) for n in range(mask.shape[1]) if mask[b, n]]
    assert torch.allclose(out.loss, torch.stack(errors).mean(), atol=1e-5)


def test_dmae_runs_only_the_teachers_first_blocks(teacher, digits):
    model = build("maskdistill", teacher, digits, "teacher.layers=1")
    assert len(model.teacher.backbone.encoder.trunk.blocks) == 1
    x = digits.train.batch(torch.arange(4))["image"]
    first = maskfuse.load(teacher).backbone.forward_intermediates(x)[0].tokens
    (got,) = model.teacher.levels(x)
    assert torch.allclose(got, F.layer_norm(first, (first.shape[-1],)), atol=1e-6)


def test_mrmae_mimics_on_visible_tokens_and_reconstructs_masked_ones(teacher, digits):
    model = build("mrmae", teacher, digits)
    x = digits.train.batch(torch.arange(6))["image"]
    torch.manual_seed(5)
    out = model({"image": x})
    assert set(out.logs) == {"mimic_mse", "recon_mse"}
    assert torch.allclose(out.loss, torch.tensor(out.logs["mimic_mse"] + out.logs["recon_mse"]), atol=1e-5)
    torch.manual_seed(5)
    tokens, plan, enc, _, _ = model._run(x, None)
    (features,) = model.teacher.levels(x)
    ref = [
        F.mse_loss(model.mimic(enc.tokens)[b, k], features[b, int(plan.keep_idx[b, k])])
        for b in range(6)
        for k in range(plan.keep_idx.shape[1])
    ]
    assert abs(float(torch.stack(ref).mean().detach()) - out.logs["mimic_mse"]) < 1e-5


def test_maskalign_dynamic_alignment_starts_at_matching_depths_and_aligns_visible_tokens(teacher, digits):
    model = build("maskalign", teacher, digits, "teacher.top_k=2")
    weights = model.align.mix.softmax(-1)  # student depth 2, two teacher levels: level j <- student block j
    assert weights.shape == (2, 2) and bool((weights.diagonal() > 0.99).all())
    x = digits.train.batch(torch.arange(6))["image"]
    torch.manual_seed(7)
    out = model({"image": x})
    assert set(out.logs) == {"align_level0", "align_level1"}
    torch.manual_seed(7)
    tokens = model.backbone.tokenizer(x)
    plan = model.sampler(tokens.grid, len(x))
    states = model.backbone.encoder.forward_intermediates(gather(tokens.embedded(), plan.keep_idx))
    preds = model.align([s.tokens for s in states])
    targets = model.teacher.levels(x, 2)
    per_level = [F.smooth_l1_loss(p, gather(t, plan.keep_idx)) for p, t in zip(preds, targets)]
    assert torch.allclose(out.loss, torch.stack(per_level).mean(), atol=1e-5)
    out.loss.backward()
    assert model.align.mix.grad is not None and model.align.mix.grad.abs().sum() > 0


def test_teacher_errors_name_the_setting(tmp_path, teacher, digits):
    with pytest.raises(ConfigError, match="set teacher.path"):
        build_method(small_config("maskdistill"), digits.spec)
    with pytest.raises(ConfigError, match="teacher.layers=9"):
        build("mrmae", teacher, digits, "teacher.layers=9")
    other = teacher_run(tmp_path / "p4", small_config("mae", p="image.patch_size=4"), digits.spec)
    with pytest.raises(ConfigError, match="grid"):
        build("maskalign", other, digits)
    with pytest.raises(Exception, match="does not exist"):
        build("maskdistill", tmp_path / "nowhere", digits)


def test_distilling_from_a_real_pretrained_run_end_to_end(tmp_path):
    """digits: MAE teacher -> MaskDistill student -> load, evaluate; both runs real."""
    quick = ["train.progress=false", "train.monitor_every=0", "train.steps=40", "eval.protocols=[knn]"]
    teacher = maskfuse.pretrain(maskfuse.resolve("mae", quick), tmp_path / "teacher")
    student = maskfuse.pretrain(maskfuse.resolve("maskdistill", [*quick, f"teacher.path={teacher}"]), tmp_path / "s")
    report = maskfuse.evaluate(student)
    assert report["results"]["pretrained"]["knn"]["top1"] > 0.5  # ten digits: chance is 0.1
    assert maskfuse.load(student).embed(load_data(maskfuse.resolve("mae").data).test.inputs[:5]).shape[0] == 5


def test_an_exported_encoder_is_a_teacher_like_its_run(tmp_path, teacher, digits):
    from maskfuse.export import export

    exported = export(teacher, tmp_path / "exp")
    from_run, from_export = build("maskdistill", teacher, digits), build("maskdistill", exported, digits)
    a, b = from_run.teacher.backbone.state_dict(), from_export.teacher.backbone.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
