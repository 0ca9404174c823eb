import torch

from maskfuse.nn.block import Transformer


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(0)
    net = Transformer(16, 2, 2).eval()
    x = torch.randn(1, 5, 16)
    padded = torch.cat([x, torch.randn(1, 3, 16)], dim=1)
    valid = torch.tensor([[True] * 5 + [False] * 3])
    assert torch.allclose(net(x)[0], net(padded, valid)[0, :5], atol=1e-5)
