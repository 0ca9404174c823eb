"""Methods: thin compositions of tokenizer, sampler, trunk, heads and objectives.

Each method is an `nn.Module` built as `Method(cfg, spec)` with a `backbone`
attribute (what `load` returns) and `forward(batch) -> LossOutput`.
Importing this package registers them.
"""

from maskfuse.methods import data2vec, hpm, ijepa, mae, moco, simclr, simmim  # noqa: F401
