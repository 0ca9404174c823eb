import torch

from maskfuse.objectives.chamfer import MaskedChamfer, chamfer


def naive_chamfer(p, t):
    """Loops over every point, as the definition reads."""
    near_t = sum(min(float(((a - b) ** 2).sum()) for b in t) for a in p) / len(p)
    near_p = sum(min(float(((a - b) ** 2).sum()) for a in p) for b in t) / len(t)
    return near_t + near_p


def test_chamfer_matches_a_naive_loop_and_ignores_order():
    torch.manual_seed(0)
    p, t = torch.randn(3, 5, 3), torch.randn(3, 7, 3)
    got = chamfer(p, t)
    for i in range(3):
        assert abs(float(got[i]) - naive_chamfer(p[i], t[i])) < 1e-5
    shuffled = t[:, torch.randperm(7)]
    assert torch.allclose(chamfer(p, shuffled), got)
    assert torch.allclose(chamfer(t, t), torch.zeros(3), atol=1e-6)


def test_only_masked_valid_tokens_count():
    torch.manual_seed(0)
    pred, target = torch.randn(2, 4, 12), torch.randn(2, 4, 12)
    mask = torch.tensor([[True, False, True, False], [False, False, True, True]])
    valid = torch.tensor([[True, True, True, True], [True, True, True, False]])
    out = MaskedChamfer()(pred, target, mask, valid)
    picked = [(0, 0), (0, 2), (1, 2)]
    expected = sum(naive_chamfer(pred[b, n].view(4, 3), target[b, n].view(4, 3)) for b, n in picked) / 3
    assert abs(float(out.loss) - expected) < 1e-5 and out.logs["chamfer"] == float(out.loss)
