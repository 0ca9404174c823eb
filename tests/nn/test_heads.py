import torch
import torch.nn.functional as F

from maskfuse.nn.heads import GatheredBatchNorm1d, projection_head


def test_gathered_batchnorm_alone_is_batchnorm():
    torch.manual_seed(0)
    x = torch.randn(16, 8) * 3 + 1
    ours, ref = GatheredBatchNorm1d(8), torch.nn.BatchNorm1d(8)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    ours.eval(), ref.eval()
    torch.testing.assert_close(ours(x), ref(x))


def test_gathered_batchnorm_single_row_uses_running_stats():
    norm = GatheredBatchNorm1d(4)
    norm.running_mean.fill_(2.0)
    x = torch.full((1, 4), 3.0)
    torch.testing.assert_close(norm(x), (x - 2.0) / (1.0 + norm.eps) ** 0.5)


def test_projection_head_runs_under_bf16_autocast():
    """The bf16 path of train.precision: statistics stay float32 (this failed on a GPU run
    with 'expected dtype float for end but got BFloat16')."""
    torch.manual_seed(0)
    head = projection_head(8, 16, 4)
    x = torch.randn(12, 8)
    with torch.autocast("cpu", torch.bfloat16):
        z = head(x)
    z.float().sum().backward()
    assert torch.isfinite(z).all()
    assert head[1].running_mean.dtype == torch.float32 and head[1].running_mean.abs().sum() > 0
    h = F.linear(x.bfloat16(), head[0].weight.bfloat16(), head[0].bias.bfloat16()).float()
    expected = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5) * head[1].weight + head[1].bias
    with torch.no_grad():
        reference = head[3](torch.relu(expected))
    torch.testing.assert_close(z.float(), reference, rtol=5e-2, atol=5e-2)
