"""Cross-modal objectives against naive per-row loops, with missing rows, and on two gloo ranks."""

import math
from itertools import combinations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from maskfuse.objectives.all_pairs import AllPairsInfoNCE
from maskfuse.objectives.clip import CLIPLoss
from maskfuse.objectives.siglip import SigLIPLoss
from maskfuse.objectives.symile import SymileLoss
from maskfuse.objectives.tcl import TripleContrast

B, P = 6, 5


def unit(x):
    return F.normalize(x, dim=-1)


def naive_infonce(a, b, rows, scale):
    """Symmetric InfoNCE over `rows` only, one anchor at a time."""
    total = 0.0
    for i in rows:
        for q, keys in ((a, b), (b, a)):
            logits = [scale * float(unit(q[i]) @ unit(keys[j])) for j in rows]
            total += 0.5 * -(logits[rows.index(i)] - math.log(sum(math.exp(v) for v in logits)))
    return total / len(rows)


def naive_siglip(a, b, rows, scale, bias):
    total = 0.0
    for i in rows:
        for j in rows:
            z = 1.0 if i == j else -1.0
            total += -math.log(1 / (1 + math.exp(-z * (scale * float(unit(a[i]) @ unit(b[j])) + bias))))
    return total / len(rows)


def naive_symile(z, rows, scale, squared):
    names = list(z)
    total = 0.0
    for t in names:
        others = [m for m in names if m != t]
        for i in rows:
            if not squared:
                ctx = math.prod([unit(z[m][i]) for m in others])
                logits = [scale * float(ctx @ unit(z[t][j])) for j in rows]
                pos = rows.index(i)
            else:
                rest = {k: math.prod([unit(z[m][k]) for m in others[1:]]) for k in rows}
                logits = [scale * float(unit(z[t][i]) @ (unit(z[others[0]][j]) * rest[k])) for j in rows for k in rows]
                pos = rows.index(i) * len(rows) + rows.index(i)
            total += -(logits[pos] - math.log(sum(math.exp(v) for v in logits))) / len(names)
    return total / len(rows)


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(1)
    z = {m: torch.randn(B, P, generator=g) for m in "abc"}
    present = {m: torch.ones(B, dtype=torch.bool) for m in "abc"}
    present["b"][1] = False
    present["c"][4] = False
    return z, present


def rows_with(present, *names):
    return [i for i in range(B) if all(bool(present[m][i]) for m in names)]


def test_clip_matches_the_naive_loop_over_rows_holding_both(data):
    z, present = data
    loss = CLIPLoss(temperature=0.1)({"a": z["a"], "b": z["b"]}, present).loss
    assert loss.item() == pytest.approx(naive_infonce(z["a"], z["b"], rows_with(present, "a", "b"), 10.0), rel=1e-5)


def test_clip_takes_exactly_two_modalities(data):
    z, present = data
    with pytest.raises(Exception, match="exactly 2"):
        CLIPLoss()(z, present)


def test_all_pairs_sums_clip_over_every_pair(data):
    z, present = data
    loss = AllPairsInfoNCE(temperature=0.2)(z, present).loss
    want = sum(naive_infonce(z[a], z[b], rows_with(present, a, b), 5.0) for a, b in combinations("abc", 2))
    assert loss.item() == pytest.approx(want, rel=1e-5)


def test_siglip_matches_the_naive_pairwise_sigmoid(data):
    z, present = data
    out = SigLIPLoss(scale=3.0, bias=-2.0)(z, present)
    want = sum(naive_siglip(z[a], z[b], rows_with(present, a, b), 3.0, -2.0) for a, b in combinations("abc", 2))
    assert out.loss.item() == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("negatives", ["n", "n2"])
def test_symile_matches_the_naive_multilinear_loop(data, negatives):
    z, present = data
    loss = SymileLoss(temperature=0.25, negatives=negatives)(z, present).loss
    want = naive_symile(z, rows_with(present, "a", "b", "c"), 4.0, negatives == "n2")
    assert loss.item() == pytest.approx(want, rel=1e-5)


def test_symile_sees_what_pairs_cannot():
    """x, y random signs, z = x * y: every pair is independent, the triple is not. The
    multilinear score ranks the true triple first; pairwise scores cannot."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 16, generator=g).sign(), torch.randn(64, 16, generator=g).sign()
    z = {"x": x, "y": y, "z": x * y}
    present = {m: torch.ones(64, dtype=torch.bool) for m in z}
    symile = SymileLoss(temperature=0.01)(z, present).loss
    pairs = AllPairsInfoNCE(temperature=0.01)(z, present).loss / 3
    assert symile.item() < 0.3 < math.log(64) < pairs.item()


def test_tcl_adds_weighted_intra_modal_terms(data):
    z, present = data
    views = {m: z[m] + 0.1 for m in "ab"}
    both = {m: z[m] for m in "ab"}
    out = TripleContrast(temperature=0.5, weight=0.3)(both, present, views)
    cma = naive_infonce(z["a"], z["b"], rows_with(present, "a", "b"), 2.0)
    imc = sum(naive_infonce(z[m], views[m], rows_with(present, m), 2.0) for m in "ab")
    assert out.loss.item() == pytest.approx(cma + 0.3 * imc, rel=1e-5)


def test_learned_temperature_is_clamped():
    loss = CLIPLoss(temperature=0.001, max_scale=100.0)
    assert loss.scale().item() == pytest.approx(100.0)


WORLD = 2
LOSSES = {
    "clip": lambda: CLIPLoss(0.2),
    "all-pairs": lambda: AllPairsInfoNCE(0.2),
    "siglip": lambda: SigLIPLoss(2.0, -1.0),
    "symile-n": lambda: SymileLoss(0.2, negatives="n"),
    "symile-n2": lambda: SymileLoss(0.2, negatives="n2"),
    "tcl": lambda: TripleContrast(0.2, weight=0.5),
}


def run(name, z, present, views=None):
    torch.manual_seed(0)
    loss = LOSSES[name]()
    inputs = {m: z[m] for m in ("ab" if name in ("clip", "tcl") else "abc")}
    out = loss(inputs, present, views) if name == "tcl" else loss(inputs, present)
    out.loss.backward()
    return out.loss.detach(), [p.grad.clone() for p in loss.parameters()]


def _worker(rank, folder, z, present, views):
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=WORLD)
    try:
        sl = slice(rank * B, (rank + 1) * B)
        results = {}
        for name in LOSSES:
            mine = {m: v[sl].clone().requires_grad_(True) for m, v in z.items()}
            loss, pgrads = run(name, mine, {m: v[sl] for m, v in present.items()}, {m: v[sl] for m, v in views.items()})
            results[name] = {"loss": loss, "params": pgrads, "rows": {m: v.grad for m, v in mine.items()}}
        torch.save(results, f"{folder}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_equal_one_process_on_the_joint_batch(tmp_path):
    """Each rank holds half the rows (with absent modalities at different places); DDP
    averages gradients, so the mean of rank losses and rank gradients must equal the
    joint batch's loss and gradients."""
    g = torch.Generator().manual_seed(0)
    z = {m: torch.randn(WORLD * B, P, generator=g) for m in "abc"}
    views = {m: torch.randn(WORLD * B, P, generator=g) for m in "ab"}
    present = {m: torch.ones(WORLD * B, dtype=torch.bool) for m in "abc"}
    present["a"][2] = present["b"][7] = present["c"][8] = present["c"][3] = False
    mp.spawn(_worker, args=(str(tmp_path), z, present, views), nprocs=WORLD, join=True)
    parts = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    for name in LOSSES:
        joint = {m: v.clone().requires_grad_(True) for m, v in z.items()}
        loss, pgrads = run(name, joint, present, views)
        got = torch.stack([p[name]["loss"] for p in parts]).mean()
        assert torch.allclose(got, loss, atol=1e-5), name
        for k, grad in enumerate(pgrads):
            assert torch.allclose(sum(p[name]["params"][k] for p in parts) / WORLD, grad, atol=1e-5), name
        for m, v in joint.items():
            if v.grad is None:
                continue
            rank_rows = torch.cat([p[name]["rows"][m] for p in parts]) / WORLD
            assert torch.allclose(rank_rows, v.grad, atol=1e-5), (name, m)
