"""Point clouds: sets of P points with x, y, z (and optional features), held as [C, P]
channels first, one folder.

- `settings.py`: the config section `points` (groups, group size, up axis, views);
- `tokenizer.py`: farthest-point sampling to G centres, the K nearest points of each
  centre relative to it, a mini-PointNet per group, sin-cos positions of the centres
  (Point-MAE / Point-BERT's tokenizer), registered as the modality "points"; targets are
  each group's points, scored by Chamfer distance (objectives/chamfer.py);
- `source.py`: the data sources "points" (.npz / .npy [N, P, 3+F]) and "volume-points"
  (points sampled on the surface of occupancy grids, e.g. ModelNet10's voxels);
- `views.py`: a turn about the up axis, scaling, jitter.

Kept light: the parts register when `modalities.load_all()` imports them.
"""
