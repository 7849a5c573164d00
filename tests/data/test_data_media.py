"""Images and sound as inputs: folders of class subfolders, tables of file paths (relative
to the table), decoding (EXIF orientation, grey, alpha, stereo, other sample rates), bad
files named and left out, and groups kept in one fold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay._types import FeatureType, Task
from assay.data import infer_schema, prepare, read_table
from assay.data._decode import IMAGE_SIDE, N_MELS, decode_image, decode_sound, decoded
from assay.errors import ConfigError, DataError, MediaError
from assay.evaluate import make_folds
from assay.testing._toy_media import write_image, write_tone

pytest.importorskip("soundfile")
pytest.importorskip("librosa")


def _class_folders(root: Path, n_per_class: int = 6, suffix: str = ".png") -> Path:
    rng = np.random.default_rng(0)
    for label, level in (("cat", 0.1), ("dog", 0.9)):
        (root / label).mkdir(parents=True)
        for i in range(n_per_class):
            write_image(root / label / f"{i}{suffix}", level, rng)
    return root


def test_a_folder_of_class_subfolders_reads_as_paths_and_labels(tmp_path: Path) -> None:
    root = _class_folders(tmp_path / "photos", suffix=".JPG")
    (root / "cat" / "readme.txt").write_text("not an image")
    frame = read_table(root)
    assert list(frame.columns) == ["path", "label"]
    assert sorted(frame["label"].unique()) == ["cat", "dog"]
    assert len(frame) == 12  # the text file is not a row
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in frame["path"])
    assert infer_schema(frame, target="label")["path"].type is FeatureType.IMAGE


def test_a_folder_of_files_without_subfolders_reads_as_paths_to_predict(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(3):
        write_tone(tmp_path / f"clip{i}.wav", 0.5, rng)
    frame = read_table(tmp_path)
    assert list(frame.columns) == ["path"] and len(frame) == 3
    assert infer_schema(frame)["path"].type is FeatureType.AUDIO


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("empty", "folder without image or audio files"),
        ("one_class", "one class only"),
        ("mixed_kinds", "mixes images and sound"),
        ("loose_and_sub", "both directly and in subfolders"),
    ],
)
def test_folders_that_cannot_be_read_say_why(tmp_path: Path, layout: str, message: str) -> None:
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    if layout == "one_class":
        write_image(root / "a" / "1.png", 0.5, rng)
    elif layout == "mixed_kinds":
        (root / "b").mkdir()
        write_image(root / "a" / "1.png", 0.5, rng)
        write_tone(root / "b" / "1.wav", 0.5, rng)
    elif layout == "loose_and_sub":
        (root / "b").mkdir()
        write_image(root / "a" / "1.png", 0.5, rng)
        write_image(root / "b" / "1.png", 0.5, rng)
        write_image(root / "loose.png", 0.5, rng)
    with pytest.raises(DataError, match=message) as info:
        read_table(root)
    assert str(root) in str(info.value) or "data" in str(info.value)


def test_paths_in_a_table_are_relative_to_the_table_folder(tmp_path: Path, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "project" / "img").mkdir(parents=True)
    rows = []
    for i in range(8):
        write_image(tmp_path / "project" / "img" / f"{i}.png", i / 8, rng)
        rows.append({"file": f"img/{i}.png", "y": i % 2})
    table = tmp_path / "project" / "train.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    monkeypatch.chdir(tmp_path)  # not the table's folder
    frame = read_table(table)
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in frame["file"])
    assert infer_schema(frame, target="y")["file"].type is FeatureType.IMAGE


def test_a_path_column_declared_as_image_is_used_whatever_its_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        path = write_image(tmp_path / f"{i}.png", 0.5, rng)
        paths.append(str(path.rename(tmp_path / f"photo{i}.data")))  # no image extension
    frame = pd.DataFrame({"photo": paths, "y": [0, 1] * 3})
    assert infer_schema(frame, target="y")["photo"].type is not FeatureType.IMAGE
    forced = infer_schema(frame, target="y", overrides={"photo": "image"})
    assert forced["photo"].type is FeatureType.IMAGE
    assert decode_image(paths[0]).shape == (IMAGE_SIDE, IMAGE_SIDE, 3)


def test_exif_orientation_grey_and_alpha_images_decode_upright_in_rgb(tmp_path: Path) -> None:
    from PIL import Image

    pixels = np.zeros((20, 40), dtype=np.uint8)
    pixels[:, :20] = 255  # left half white as stored
    image = Image.fromarray(pixels, "L")
    exif = image.getexif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: the white half on top
    image.save(tmp_path / "rotated.jpg", exif=exif)
    upright = decode_image(str(tmp_path / "rotated.jpg")).astype(float)
    assert upright.shape == (IMAGE_SIDE, IMAGE_SIDE, 3)
    top, bottom = upright[: IMAGE_SIDE // 2].mean(), upright[IMAGE_SIDE // 2 :].mean()
    assert top > 200 and bottom < 50
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)  # fully transparent: white background
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    assert decode_image(str(tmp_path / "clear.png")).min() == 255


def test_deep_and_floating_point_grey_images_keep_their_gradient(tmp_path: Path) -> None:
    from PIL import Image

    ramp = np.tile(np.linspace(0, 1, 256), (32, 1))  # dark on the left, bright on the right
    Image.fromarray((ramp * 4000).astype(np.uint16)).save(tmp_path / "scan12bit.png")
    Image.fromarray(ramp.astype(np.float32)).save(tmp_path / "unit.tif")
    odd = (ramp * 50 - 20).astype(np.float32)  # -20 to 30, one value not a number
    odd[0, 0] = np.nan
    Image.fromarray(odd).save(tmp_path / "odd.tif")
    for name in ("scan12bit.png", "unit.tif", "odd.tif"):
        grey = decode_image(str(tmp_path / name))[..., 0].astype(float)
        columns = grey[IMAGE_SIDE // 2]
        assert columns[0] < 10 and columns[-1] > 245, name  # Pillow alone clipped at 255
        assert (np.diff(columns) >= 0).all() and len(np.unique(columns)) > IMAGE_SIDE // 2
    small = np.tile(np.arange(0, 200, 25, dtype=np.int32), (8, 1))  # 32-bit, within 0-255
    Image.fromarray(small, "I").save(tmp_path / "small.tif")
    assert decode_image(str(tmp_path / "small.tif"))[..., 0].max() <= 176  # not stretched


def test_a_large_rotated_jpeg_decodes_like_a_careful_reduction_of_it(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = np.zeros((1200, 1600, 3), dtype=np.uint8)  # reduced at least 8 times on decoding
    pixels[:, :800] = (220, 40, 40)  # left half red as stored
    pixels[:, 800:] = rng.integers(0, 80, size=(1200, 800, 3))
    image = Image.fromarray(pixels, "RGB")
    exif = image.getexif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: the red half on top
    image.save(tmp_path / "photo.jpg", exif=exif, quality=95)
    decoded_ = decode_image(str(tmp_path / "photo.jpg")).astype(float)
    careful = Image.fromarray(pixels).transpose(Image.Transpose.ROTATE_270)
    careful = careful.resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.LANCZOS)
    assert np.abs(decoded_ - np.asarray(careful, dtype=float)).mean() < 6
    assert decoded_[: IMAGE_SIDE // 2, :, 0].mean() > 200  # upright: red on top


def test_mp3_and_opus_files_are_sound(tmp_path: Path) -> None:
    import soundfile

    t = np.arange(16_000) / 16_000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for label in ("low", "high"):
        (tmp_path / label).mkdir()
        soundfile.write(tmp_path / label / "a.mp3", tone, 16_000, format="MP3")
        soundfile.write(tmp_path / label / "b.opus", tone, 16_000, format="OGG", subtype="OPUS")
    frame = read_table(tmp_path)
    assert len(frame) == 4 and infer_schema(frame, target="label")["path"].type is FeatureType.AUDIO
    for path in frame["path"]:
        spectrum = decode_sound(path)
        assert spectrum.shape[0] == N_MELS and 50 < spectrum.shape[1] < 80  # about 1 s


def test_only_the_first_max_seconds_of_a_long_sound_are_kept(tmp_path: Path) -> None:
    import soundfile

    from assay.data._decode import MAX_SECONDS, SAMPLE_RATE, decode_wave

    noise = np.random.default_rng(0).uniform(-0.5, 0.5, int((MAX_SECONDS + 10) * 8_000))
    soundfile.write(tmp_path / "long.wav", noise.astype(np.float32), 8_000)
    assert abs(len(decode_wave(str(tmp_path / "long.wav"))) - MAX_SECONDS * SAMPLE_RATE) < 600


def test_archive_leftovers_of_a_mac_are_neither_classes_nor_files(tmp_path: Path) -> None:
    root = _class_folders(tmp_path / "photos")
    for label in ("cat", "dog"):  # what unzipping an archive made on a Mac leaves
        (root / "__MACOSX" / label).mkdir(parents=True)
        (root / "__MACOSX" / label / "._0.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
        (root / label / "._0.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    frame = read_table(root)
    assert sorted(frame["label"].unique()) == ["cat", "dog"] and len(frame) == 12
    assert not any(Path(p).name.startswith(".") for p in frame["path"])


def test_sound_of_any_rate_and_channels_becomes_one_log_mel_shape(tmp_path: Path) -> None:
    import soundfile

    t = np.arange(22_050) / 22_050
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 880 * t)], axis=1)
    soundfile.write(tmp_path / "a.flac", stereo.astype(np.float32), 22_050)
    write_tone(tmp_path / "b.wav", 0.5, np.random.default_rng(0))  # 8 kHz, 0.3 s
    long = decode_sound(str(tmp_path / "a.flac"))
    short = decode_sound(str(tmp_path / "b.wav"))
    assert long.shape[0] == short.shape[0] == N_MELS
    assert long.shape[1] > 2.5 * short.shape[1]  # 1 s against 0.3 s
    assert np.isfinite(long).all() and long.dtype == np.float32


def test_a_sound_shorter_than_one_window_decodes_without_a_warning(tmp_path: Path) -> None:
    import warnings

    import soundfile

    soundfile.write(tmp_path / "click.wav", np.full(400, 0.5, dtype=np.float32), 8_000)  # 50 ms
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # librosa's "n_fft=1024 is too large" reached users
        spectrum = decode_sound(str(tmp_path / "click.wav"))
    assert spectrum.shape[0] == N_MELS and spectrum.shape[1] >= 1
    assert np.isfinite(spectrum).all()


def _write_bad_files(folder: Path) -> tuple[Path, Path]:
    truncated = folder / "dog" / "truncated.jpg"
    write_image(truncated, 0.5, np.random.default_rng(1))
    truncated.write_bytes(truncated.read_bytes()[:200])
    not_image = folder / "cat" / "not_really.png"
    not_image.write_text("this is text, not a picture")
    return truncated, not_image


def test_bad_files_are_named_left_out_and_counted(tmp_path: Path) -> None:
    root = _class_folders(tmp_path / "photos", n_per_class=8)
    truncated, not_image = _write_bad_files(root)
    for path in (truncated, not_image):
        with pytest.raises(MediaError, match=path.name):
            decode_image(str(path))
    dataset = prepare(root, "label")
    assert dataset.n_rows == 16 and dataset.n_bad_files == 2
    warning = " ".join(dataset.warnings)
    assert "2 file(s) of column 'path' could not be read" in warning
    assert "truncated.jpg" in warning and "not_really.png" in warning


def test_mostly_unreadable_files_are_an_error_about_the_paths(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.png"
        if i < 2:
            write_image(path, 0.5, rng)
        else:
            path.write_text("no picture")
        paths.append(str(path))
    frame = pd.DataFrame({"photo": paths, "y": [0, 1] * 3})
    with pytest.raises(DataError, match="Most files are unreadable"):
        prepare(frame, "y", feature_types={"photo": "image"})


def test_groups_stay_in_one_fold_and_leave_the_features() -> None:
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "speaker": rng.choice(["ann", "bob", "cid", "dan", "eve", "fay"], n),
            "y": rng.integers(0, 3, n),
        }
    )
    dataset = prepare(frame, "y", groups="speaker")
    assert "speaker" not in dataset.X.columns and dataset.group_column == "speaker"
    for task, y in ((Task.MULTICLASS, dataset.y.to_numpy()), (Task.REGRESSION, rng.normal(size=n))):
        folds = make_folds(y, task, 8, 0, dataset.groups)
        assert len(folds) == 6  # no more folds than groups
        for train, valid in folds:
            assert not set(dataset.groups[train]) & set(dataset.groups[valid])
        assert sorted(np.concatenate([v for _, v in folds])) == list(range(n))
    by_values = prepare(frame.drop(columns="speaker"), "y", groups=frame["speaker"].to_numpy())
    assert np.array_equal(by_values.groups, dataset.groups) and by_values.group_column is None


@pytest.mark.parametrize(
    ("groups", "error", "message"),
    [
        ("speakr", ConfigError, "Closest names: speaker"),
        ("y", ConfigError, "is the target"),
        ([1, 2], ConfigError, "2 values but"),
        ("one", DataError, "one group"),
        ("holes", DataError, "1 missing value"),
    ],
)
def test_bad_groups_get_a_clear_error(groups, error, message) -> None:
    frame = pd.DataFrame(
        {
            "x": range(20),
            "speaker": ["a", "b"] * 10,
            "one": ["same"] * 20,
            "holes": [None] + ["a", "b"] * 9 + ["a"],
            "y": [0, 1] * 10,
        }
    )
    with pytest.raises(error, match=message):
        dataset = prepare(frame, "y", groups=groups)
        make_folds(dataset.y.to_numpy(), dataset.task, 5, 0, dataset.groups)


def test_names_no_file_can_have_are_not_paths_and_do_not_break_typing() -> None:
    values = ["a\x00b.png", "x" * 5000 + ".png"] * 10
    frame = pd.DataFrame({"odd": values, "y": [0, 1] * 10})
    assert infer_schema(frame, target="y")["odd"].type is not FeatureType.IMAGE
    with pytest.raises(MediaError, match="does not exist"):
        decoded("a\x00b.png", FeatureType.IMAGE)


def test_media_features_that_would_miss_the_deadline_are_left_out_and_stay_out(
    tmp_path: Path,
) -> None:
    import time

    from assay.features import DerivedFeatures

    images = [str(write_image(tmp_path / f"{i}.png", i / 40, np.random.default_rng(i)))
              for i in range(40)]  # fmt: skip
    X = pd.DataFrame({"photo": images, "n": np.arange(40.0)})
    y = np.arange(40) % 2
    types = {"photo": FeatureType.IMAGE, "n": FeatureType.NUMERIC}
    folds = make_folds(y, Task.BINARY, n_folds=2, random_state=0)
    late = DerivedFeatures(types, Task.BINARY, embed=False)
    out = late.fit_transform(X, y, folds, deadline=time.monotonic())  # no time at all
    assert out.shape[1] == 0 and late.featured_media_ == []
    assert "image features of photo" in late.report_["skipped"]
    assert any("image features of photo skipped" in w for w in late.warnings_)
    late.save(tmp_path / "late")
    loaded = DerivedFeatures.load(tmp_path / "late")
    assert loaded.transform(X.head(3)).shape == (3, 0)  # what the fit left out stays out
    on_time = DerivedFeatures(types, Task.BINARY, embed=False)
    assert on_time.fit_transform(X, y, folds, deadline=time.monotonic() + 600).shape[1] > 100
    assert on_time.featured_media_ == ["photo"]


def test_with_its_media_features_left_out_only_networks_are_tried(tmp_path: Path) -> None:
    import time

    from assay.automl._automl import _models_with_columns
    from assay.errors import BudgetError
    from assay.features import DerivedFeatures
    from assay.models import MODELS

    images = [str(write_image(tmp_path / f"{i}.png", i / 20, np.random.default_rng(i)))
              for i in range(20)]  # fmt: skip
    X = pd.DataFrame({"photo": images})
    y = np.arange(20) % 2
    types = {"photo": FeatureType.IMAGE}
    folds = make_folds(y, Task.BINARY, n_folds=2, random_state=0)
    late = DerivedFeatures(types, Task.BINARY, embed=False)
    late.fit_transform(X, y, folds, deadline=time.monotonic())  # the features left out
    models = {name: MODELS[name] for name in ("linear", "lightgbm", "image_cnn")}
    assert list(_models_with_columns(models, types, late)) == ["image_cnn"]
    with pytest.raises(BudgetError, match=r"image features of photo: .*--time"):
        _models_with_columns({"linear": MODELS["linear"]}, types, late)
    on_time = DerivedFeatures(types, Task.BINARY, embed=False)
    out = on_time.fit_transform(X, y, folds, deadline=time.monotonic() + 600)
    with_features = {**types, **dict.fromkeys(out.columns, FeatureType.NUMERIC)}
    assert _models_with_columns(models, with_features, on_time) == models
