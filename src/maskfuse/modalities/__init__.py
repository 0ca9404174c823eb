"""Per-modality tokenizers: raw input -> `Tokens`. Importing this package registers them."""

from maskfuse.modalities import image  # noqa: F401
