"""Skeleton motion: sequences of J joints in 3-D, held as [3, T, J] (x, y, z as channels), one
folder.

- `settings.py`: the config section `motion` (frames per token, joints per group, views);
- `tokenizer.py`: tokens of (a few frames) x (a group of joints) with sin-cos positions
  over (time, group), registered as the modality "motion"; the report draws a sequence as
  its joints seen from the front, a few frames in a row;
- `source.py`: the data source "motion" (.npz: `frames` + `offsets`, or a padded
  [N, T, J, 3] `motion` array), each sequence centred and resampled to a fixed length;
- `views.py`: turns about the vertical axis, scaling, a stretch of time, joint jitter.

Kept light: the parts register when `modalities.load_all()` imports them.
"""
