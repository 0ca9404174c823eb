import torch

from maskfuse.nn.block import Transformer, configure_blocks


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(0)
    net = Transformer(16, 2, 2).eval()
    x = torch.randn(1, 5, 16)
    padded = torch.cat([x, torch.randn(1, 3, 16)], dim=1)
    valid = torch.tensor([[True] * 5 + [False] * 3])
    assert torch.allclose(net(x)[0], net(padded, valid)[0, :5], atol=1e-5)


def _grads(model: Transformer, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    out = model(x, valid)
    (out**2).mean().backward()
    return out.detach(), [p.grad.clone() for p in model.parameters()]


def test_activation_checkpointing_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    model = Transformer(16, 3, 2)
    x, valid = torch.randn(4, 10, 16), torch.rand(4, 10) > 0.2
    plain = _grads(model, x, valid)
    configure_blocks(model, checkpointing=True, compile=False)
    assert model.checkpointing
    saved = {}
    hook = torch.autograd.graph.saved_tensors_hooks(lambda t: saved.setdefault(len(saved), t), lambda t: t)
    with hook:
        ckpt = _grads(model, x, valid)
    torch.testing.assert_close(ckpt[0], plain[0], rtol=0, atol=0)
    for a, b in zip(ckpt[1], plain[1]):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    with hook:
        configure_blocks(model, checkpointing=False, compile=False)
        before = len(saved)
        _grads(model, x, valid)
    assert len(saved) - before > 3 * before  # without checkpointing far more activations are kept


def test_compiled_blocks_match_eager():
    torch.manual_seed(0)
    model = Transformer(16, 2, 2)
    x, valid = torch.randn(4, 10, 16), torch.ones(4, 10, dtype=torch.bool)
    eager = _grads(model, x, valid)
    configure_blocks(model, checkpointing=False, compile=True)
    compiled = _grads(model, x, valid)
    torch.testing.assert_close(compiled[0], eager[0], rtol=1e-5, atol=1e-5)
    for a, b in zip(compiled[1], eager[1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
