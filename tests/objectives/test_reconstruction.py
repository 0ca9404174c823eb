import pytest
import torch

from maskfuse.objectives.reconstruction import MaskedReconstruction


def naive(pred, target, mask, valid, kind):
    total, count = 0.0, 0
    for b in range(pred.shape[0]):
        for n in range(pred.shape[1]):
            if mask[b, n] and valid[b, n]:
                d = pred[b, n] - target[b, n]
                total += float((d**2).mean() if kind == "mse" else d.abs().mean())
                count += 1
    return total / count


@pytest.mark.parametrize("kind", ["mse", "l1"])
def test_matches_naive_loop_and_ignores_visible_and_padding(kind):
    pred, target = torch.randn(3, 7, 4), torch.randn(3, 7, 4)
    mask = torch.rand(3, 7) > 0.4
    mask[:, 0] = True
    valid = torch.ones(3, 7, dtype=torch.bool)
    valid[2, 5:] = False
    out = MaskedReconstruction(kind)(pred, target, mask, valid)
    assert out.loss.item() == pytest.approx(naive(pred, target, mask, valid, kind), rel=1e-6)
    # changing a visible or padded token's prediction changes nothing
    pred2 = pred.clone()
    pred2[~(mask & valid)] += 100.0
    assert MaskedReconstruction(kind)(pred2, target, mask, valid).loss.item() == pytest.approx(out.loss.item())


def test_unknown_loss_rejected():
    with pytest.raises(ValueError, match="mse"):
        MaskedReconstruction("huber")
