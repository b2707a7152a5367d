"""Speech datasets in: Audio columns, audiofolders and NeMo manifests become audio references."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest
import soundfile as sf

from dprune.audio.decode import decode_refs
from dprune.data import load_dataset
from dprune.data.audio import AUDIO_REF_TYPE, find_audio_column, refs_from_arrow, to_audio_references


def write_clips(folder, n=3, rate=22050):
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        t = np.arange(int(rate * (0.5 + 0.25 * i))) / rate
        sf.write(folder / f"c{i}.flac", 0.3 * np.sin(2 * np.pi * 300 * t), rate)
        names.append(f"c{i}.flac")
    return names


def audio_refs(ds, column="audio"):
    assert ds.with_format("arrow")[:0][column].type == AUDIO_REF_TYPE
    return refs_from_arrow(ds.with_format("arrow")[:][column])


def test_bundled_speech_example_loads_as_references():
    ds = load_dataset("spoken_digits", split="train")
    assert len(ds) == 206 and ds["row_id"] == sorted(ds["row_id"])
    refs = audio_refs(ds)
    assert all(r.data and r.path.endswith(".flac") for r in refs)
    audio = decode_refs(refs[:2]).audio
    assert [a.size / 16000 for a in audio] == pytest.approx(ds["duration"][:2], abs=1e-3)


def test_audiofolder_csv_and_split_folders(tmp_path):
    names = write_clips(tmp_path / "train")
    (tmp_path / "train" / "metadata.csv").write_text(
        "file_name,transcription,speaker\n" + "".join(f"{n},word {i},s{i % 2}\n" for i, n in enumerate(names))
    )
    write_clips(tmp_path / "test", n=1)
    (tmp_path / "test" / "metadata.jsonl").write_text(json.dumps({"file_name": "c0.flac", "transcription": "x"}) + "\n")
    ds = load_dataset(tmp_path, text_column="transcription")
    assert ds["speaker"] == ["s0", "s1", "s0"] and ds["row_id"] == [0, 1, 2]
    refs = audio_refs(ds)
    assert refs[1].path == str(tmp_path / "train" / "c1.flac") and refs[1].data is None
    assert [a.size for a in decode_refs(refs).audio] == [8000, 12000, 16000]
    assert len(load_dataset(str(tmp_path), split="test", text_column="transcription")) == 1
    with pytest.raises(ValueError, match=r"split='dev' is not a split of the audiofolder .* \['test', 'train'\]"):
        load_dataset(tmp_path, split="dev", text_column="transcription")


def test_audiofolder_without_file_name_is_refused(tmp_path):
    write_clips(tmp_path)
    (tmp_path / "metadata.csv").write_text("path,text\nc0.flac,a\n")
    with pytest.raises(ValueError, match="no 'file_name' column"):
        load_dataset(tmp_path)


def test_nemo_manifest_keeps_extra_columns_and_segments(tmp_path):
    names = write_clips(tmp_path / "wavs", rate=16000)
    lines = [
        {"audio_filepath": f"wavs/{names[2]}", "duration": 0.5, "offset": 0.25, "text": "hello", "lang": "en"},
        {"audio_filepath": str(tmp_path / "wavs" / names[0]), "duration": 0.5, "text": "world", "lang": "de"},
    ]
    manifest = tmp_path / "train_manifest.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    ds = load_dataset(manifest)
    assert ds["lang"] == ["en", "de"] and ds["audio_filepath"][0] == "wavs/c2.flac"
    refs = audio_refs(ds)
    assert (refs[0].path, refs[0].offset, refs[0].duration) == (str(tmp_path / "wavs" / "c2.flac"), 0.25, 0.5)
    assert refs[1].offset == 0.0
    assert [a.size for a in decode_refs(refs).audio] == [8000, 8000]


def test_manifest_line_without_audio_is_named(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio_filepath": "a.wav", "text": "a"}) + "\n" + json.dumps({"text": "b"}) + "\n")
    with pytest.raises(ValueError, match="line 2 of manifest .* has no 'audio_filepath'"):
        load_dataset(manifest)


def test_dataset_with_audio_column_needs_no_decoder(tmp_path):
    names = write_clips(tmp_path)
    paths = [str(tmp_path / n) for n in names]
    ds = datasets.Dataset.from_dict({"audio": paths, "text": ["a", "b", "c"]}).cast_column("audio", datasets.Audio())
    assert find_audio_column(ds) == "audio"
    loaded = load_dataset(ds)  # found by its Audio feature; never decoded (torchcodec is not needed)
    assert [r.path for r in audio_refs(loaded)] == paths
    by_path = load_dataset(datasets.Dataset.from_dict({"wav": paths}), text_column=None, audio_column="wav")
    assert [r.path for r in audio_refs(by_path, "wav")] == paths
    arrays = datasets.Dataset.from_dict({"clip": [{"array": [0.1, -0.1] * 800, "sampling_rate": 16000}, None]})
    refs = audio_refs(to_audio_references(arrays, "clip"), "clip")
    assert decode_refs(refs[:1]).audio[0].size == 1600 and refs[1].data is None and refs[1].path is None


def test_bad_audio_columns_are_named(tmp_path):
    ds = datasets.Dataset.from_dict({"text": ["a"], "n": [1]})
    with pytest.raises(ValueError, match="audio_column='sound' is not a column"):
        load_dataset(ds, audio_column="sound")
    with pytest.raises(ValueError, match="audio_column='n' of the given Dataset has type int64"):
        load_dataset(ds, audio_column="n")
    with pytest.raises(ValueError, match="text_column=None needs audio"):
        load_dataset(ds, text_column=None)
