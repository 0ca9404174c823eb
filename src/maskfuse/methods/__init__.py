"""Methods: thin compositions of tokenizer, sampler, trunk, heads and objectives.

Each method is an `nn.Module` built as `Method(cfg, spec)` with a `backbone`
attribute (what `load` returns) and `forward(batch) -> LossOutput`. A method that
only makes sense for some modalities names them in a class attribute `modalities`;
methods for paired multimodal data (spec.parts) set `paired = True`.
Importing this package registers them.
"""

from maskfuse.registry import import_all

import_all(__name__, __path__)  # every module registers what it defines
