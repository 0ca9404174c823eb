import math

import torch

from maskfuse.objectives.masked_tokens import MaskedTokenPrediction


def test_matches_a_naive_loop_over_masked_positions():
    logits = torch.randn(3, 5, 7)
    target = torch.randint(0, 7, (3, 5))
    mask = torch.rand(3, 5) > 0.4
    mask[0, 0] = True
    out = MaskedTokenPrediction()(logits, target, mask)
    total, count, hits = 0.0, 0, 0
    for b in range(3):
        for n in range(5):
            if mask[b, n]:
                row = logits[b, n]
                total += -(row[target[b, n]] - math.log(sum(math.exp(float(v)) for v in row)))
                hits += int(row.argmax() == target[b, n])
                count += 1
    assert math.isclose(float(out.loss), total / count, rel_tol=1e-5)
    assert math.isclose(out.logs["mlm_acc"], hits / count, rel_tol=1e-6)


def test_unmasked_positions_do_not_count_and_no_mask_is_zero():
    logits = torch.randn(2, 4, 3, requires_grad=True)
    target = torch.zeros(2, 4, dtype=torch.long)
    mask = torch.zeros(2, 4, dtype=torch.bool)
    out = MaskedTokenPrediction()(logits, target, mask)
    out.loss.backward()
    assert float(out.loss.detach()) == 0.0 and float(logits.grad.abs().sum()) == 0.0
    mask[1, 2] = True
    logits.grad = None
    MaskedTokenPrediction()(logits, target, mask).loss.backward()
    assert logits.grad[1, 2].abs().sum() > 0 and logits.grad.abs().sum() == logits.grad[1, 2].abs().sum()
