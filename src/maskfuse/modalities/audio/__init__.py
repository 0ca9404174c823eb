"""Audio: waveforms [1, S] (mono, resampled, NaN-padded at the end), one folder.

- `settings.py`: the config section `audio` (mel bands, STFT window and hop, patch shape);
- `tokenizer.py`: time x frequency patches of a log-mel spectrogram (Audio-MAE), registered
  as the modality "audio";
- `source.py`: the data sources "audio-folder" (also `--data FOLDER` of audio files),
  "audio-csv" and "fsdd";
- `views.py`: the contrastive views (gain, shift, noise, SpecAugment masks);
- `recipes/`: audio-mae, audio-simclr.

Decoding one file (soundfile, resampling) stays in `data/readers.py`, shared with paired
manifests and Hugging Face tables. Kept light: the parts register when
`modalities.load_all()` imports them.
"""
