"""Video: clips [C, T, H, W], one folder.

- `settings.py`: the config section `video` (frames, tubelets, patches, targets);
- `tokenizer.py`: tubelets (t frames x p x p pixels) with 3-D sin-cos positions over
  (time, row, column), registered as the modality "video" (VideoMAE); the report draws a
  clip's frames side by side;
- `source.py`: the data source "clips" (.npz / .npy arrays [N, T, H, W] or [N, T, C, H, W]);
- `moving_mnist.py`: the data source "moving-mnist", clips made from MNIST digits;
- `views.py`: two clips of one video as views (time crop, one spatial crop per clip).

Kept light: the parts register when `modalities.load_all()` imports them.
"""
