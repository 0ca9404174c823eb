import shutil

import numpy as np
import pytest
import soundfile as sf

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.data.readers import read_audio
from maskfuse.errors import DataError
from tests.conftest import fsdd_root


def cfg_for(path, *extra):
    return resolve(data_settings=data_overrides(str(path)), overrides=list(extra)).data


def test_fsdd_split_by_take_and_with_a_speaker_held_out():
    root = fsdd_root()
    s = load_data(cfg_for(root, "data.name=fsdd"))
    assert (len(s.train), len(s.test)) == (2700, 300)  # takes 0-4 are the authors' test set
    assert s.spec.modality == "audio" and s.spec.shape == (1, 8000) and s.spec.num_classes == 10
    assert np.bincount(s.test.labels.numpy()).tolist() == [30] * 10
    held = load_data(cfg_for(root, "data.name=fsdd", "data.test_regex=_theo_"))
    assert (len(held.train), len(held.test)) == (2500, 500)


def real_clips(tmp_path, n=6):
    files = sorted((fsdd_root() / "recordings").glob("*_jackson_1*.wav"))[:n]
    return files


def test_folder_with_class_subfolders_mixed_formats_and_resampling(tmp_path):
    files = real_clips(tmp_path)
    for i, f in enumerate(files):
        d = tmp_path / ("even" if i % 2 == 0 else "odd")
        d.mkdir(exist_ok=True)
        data, rate = sf.read(f)
        if i == 1:
            sf.write(d / (f.stem + ".flac"), data, rate)
        elif i == 2:
            from scipy.signal import resample_poly

            sf.write(d / (f.stem + ".ogg"), resample_poly(data, 2, 1), 16000)  # 16 kHz Vorbis
        else:
            shutil.copy(f, d / f.name)
    assert data_overrides(str(tmp_path))["name"] == "audio-folder"
    s = load_data(cfg_for(tmp_path, "data.test_fraction=0.34"))
    assert s.spec.class_names == ("even", "odd") and len(s.train) + len(s.test) == 6
    wav = read_audio(files[2], 8000)
    ogg = read_audio(tmp_path / "even" / (files[2].stem + ".ogg"), 8000)
    assert abs(len(ogg) - len(wav)) <= 1
    corr = np.corrcoef(wav[: len(ogg)][:2000], ogg[: len(wav)][:2000])[0, 1]
    assert corr > 0.9  # lossy and resampled twice, still the same recording


def test_labels_from_a_regex_and_a_corrupt_file(tmp_path):
    for f in real_clips(tmp_path):
        shutil.copy(f, tmp_path / f.name)
    s = load_data(cfg_for(tmp_path, r"data.label_regex=^(\d)_", "data.test_fraction=0.34"))
    assert set(s.spec.class_names) <= set("0123456789") and len(s.spec.class_names) >= 1
    (tmp_path / "9_broken_0.wav").write_bytes(b"RIFF\x00\x00not audio")
    with pytest.raises(DataError, match=r"9_broken_0.wav: cannot read audio"):
        load_data(cfg_for(tmp_path, r"data.label_regex=^(\d)_"))
    s = load_data(cfg_for(tmp_path, r"data.label_regex=^(\d)_", "data.on_error=skip", "data.test_fraction=0.34"))
    assert len(s.train) + len(s.test) == 6 and "skipped 1 unreadable" in s.notes[0]
    with pytest.raises(DataError, match="finds no label group"):
        load_data(cfg_for(tmp_path, r"data.label_regex=^x(\d)"))


def test_manifest_rows_and_errors_name_the_row(tmp_path):
    files = real_clips(tmp_path)
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    lines = ["path,digit"] + [f"{f.name},{f.name[0]}" for f in files]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    s = load_data(
        cfg_for(tmp_path / "m.csv", "data.name=audio-csv", "data.label_column=digit", "data.test_fraction=0.34")
    )
    assert len(s.train) + len(s.test) == 6
    lines.insert(3, "missing.wav,3")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"m.csv, row 4: audio file .*missing.wav does not exist"):
        load_data(cfg_for(tmp_path / "m.csv", "data.name=audio-csv"))
    (tmp_path / "n.csv").write_text("file,digit\na.wav,1\n")
    with pytest.raises(DataError, match="no column 'path'"):
        load_data(cfg_for(tmp_path / "n.csv", "data.name=audio-csv"))


def test_a_test_regex_that_matches_everything_is_refused(tmp_path):
    for f in real_clips(tmp_path, 3):
        shutil.copy(f, tmp_path / f.name)
    with pytest.raises(DataError, match="must pick some but not all"):
        load_data(cfg_for(tmp_path, r"data.test_regex=\.wav$"))


def test_manifest_paths_that_leave_its_folder_are_refused_unless_allowed(tmp_path):
    files = real_clips(tmp_path)
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "set").mkdir()
    lines = ["path,digit"] + [f"../{f.name},{f.name[0]}" for f in files]
    (tmp_path / "set" / "m.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"m.csv, row 2: '\.\./.*' leaves the manifest's folder .*data.allow_outside"):
        load_data(cfg_for(tmp_path / "set" / "m.csv", "data.name=audio-csv"))
    s = load_data(cfg_for(tmp_path / "set" / "m.csv", "data.name=audio-csv", "data.allow_outside=true"))
    assert len(s.train) + len(s.test) == len(files)
    absolute = ["path,digit"] + [f"{f},{f.name[0]}" for f in files]  # the shared copies, by absolute path
    (tmp_path / "set" / "m.csv").write_text("\n".join(absolute) + "\n")
    with pytest.raises(DataError, match="leaves the manifest's folder"):
        load_data(cfg_for(tmp_path / "set" / "m.csv", "data.name=audio-csv"))


@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="libsndfile older than 1.1 reads no MP3")
def test_an_mp3_folder_is_audio_and_decodes_to_the_same_recording(tmp_path):
    files = real_clips(tmp_path, 4)
    for i, f in enumerate(files):
        d = tmp_path / ("a" if i % 2 == 0 else "b")
        d.mkdir(exist_ok=True)
        data, rate = sf.read(f)
        sf.write(d / (f.stem + ".mp3"), data, rate, format="MP3")
    assert data_overrides(str(tmp_path))["name"] == "audio-folder"
    s = load_data(cfg_for(tmp_path, "data.test_fraction=0.5"))
    assert s.spec.class_names == ("a", "b") and len(s.train) + len(s.test) == 4
    wav = read_audio(files[0], 8000)
    mp3 = read_audio(tmp_path / "a" / (files[0].stem + ".mp3"), 8000)
    # MP3 adds its encoder delay at the start: align by cross-correlation before comparing
    lag = int(np.argmax(np.correlate(mp3[:4000], wav[:2000], mode="valid")))
    assert lag < 2000
    corr = np.corrcoef(wav[:2000], mp3[lag : lag + 2000])[0, 1]
    assert corr > 0.9


def test_a_folder_of_audio_libsndfile_cannot_decode_is_refused_by_name(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "clip.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A ")
    with pytest.raises(DataError, match=r"holds \.m4a audio, which this soundfile .* cannot decode.*ffmpeg"):
        data_overrides(str(tmp_path))


def test_an_audio_manifest_split_column_gives_the_split_and_survives_skipped_files(tmp_path):
    files = real_clips(tmp_path)
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    parts = ["train", "TEST", "train", "val", "train", "train"]
    lines = ["path,digit,part"] + [f"{f.name},{f.name[0]},{p}" for f, p in zip(files, parts)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    args = ("data.name=audio-csv", "data.label_column=digit", "data.split_column=part")
    s = load_data(cfg_for(tmp_path / "m.csv", *args, "data.memory_mb=0"))
    assert (len(s.train), len(s.test)) == (4, 2)
    assert sorted(s.test.origins(np.arange(2))) == sorted(str(tmp_path / files[i].name) for i in (1, 3))
    # a corrupt file skipped with data.on_error=skip: the markers stay with their own rows
    (tmp_path / files[0].name).write_bytes(b"not audio")
    s = load_data(cfg_for(tmp_path / "m.csv", *args, "data.on_error=skip", "data.memory_mb=0"))
    assert (len(s.train), len(s.test)) == (3, 2)
    assert sorted(s.test.origins(np.arange(2))) == sorted(str(tmp_path / files[i].name) for i in (1, 3))
    lines[4] = lines[4].replace(",val", ",holdout")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"m.csv, row 5, column 'part'|m.csv, row 5: split marker 'holdout'"):
        load_data(cfg_for(tmp_path / "m.csv", *args))
    with pytest.raises(DataError, match=r"no column 'nope' \(split markers, data.split_column\)"):
        load_data(cfg_for(tmp_path / "m.csv", "data.name=audio-csv", "data.split_column=nope"))
