"""Volumes: 3-D arrays [C, D, H, W] (scans, occupancy grids), one folder.

- `settings.py`: the config section `volume` (patch side, targets, views);
- `tokenizer.py`: 3-D patches with 3-D sin-cos positions (`nn.grid_tokens`), registered
  as the modality "volume"; the report draws three orthogonal middle slices;
- `source.py`: the data source "volumes" (.npz / .npy arrays, a folder of NIfTI files);
- `views.py`: the contrastive views (rotation about an up axis, mirror, crop, intensity).

Kept light: the parts register when `modalities.load_all()` imports them.
"""
