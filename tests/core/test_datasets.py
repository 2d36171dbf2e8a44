"""Data sets: embedded and synthetic sets, loaders, bad input, preprocessing, splits."""
import pickle

import numpy as np
import pytest

from core.data.datasets import (CIFAR_TRAIN_BATCHES, Preprocessor, add_bias, load_cifar10, load_csv, load_dataset,
                           load_embedded, load_npz, make_blobs, make_circles, make_spiral, make_xor,
                           train_val_split)
from core.errors import HillwalkError


@pytest.mark.parametrize("name, shape, classes", [("digits", (1797, 64), 10), ("iris", (150, 4), 3),
                                                  ("wine", (178, 13), 3)])
def test_embedded_sets_have_documented_shapes_and_provenance(name, shape, classes):
    data = load_embedded(name)
    assert data.X.shape == shape and data.X.dtype == np.float64
    assert data.n_classes == classes and set(np.unique(data.y)) == set(range(classes))
    assert data.provenance["licence"] and data.provenance["source"] and data.provenance["steps"] == []
    assert not data.X.flags.writeable  # a Dataset is a value


def test_digits_pixels_are_counts_from_0_to_16():
    X = load_embedded("digits").X
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))


@pytest.mark.parametrize("maker, classes", [(make_spiral, 3), (make_blobs, 3), (make_xor, 2), (make_circles, 2)])
def test_synthetic_sets_are_reproducible_by_seed(maker, classes):
    a, b, c = maker(seed=1), maker(seed=1), maker(seed=2)
    assert a.X.shape[1] == 2 and a.n_classes == classes
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert "seed" in a.provenance["parameters"]


def test_spiral_defaults_follow_cs231n():
    data = make_spiral()
    assert data.X.shape == (300, 2) and np.bincount(data.y).tolist() == [100, 100, 100]
    radius = np.hypot(data.X[:, 0], data.X[:, 1])
    np.testing.assert_allclose(radius[:100], np.linspace(0, 1, 100), atol=1e-12)  # noise only moves the angle


def test_load_dataset_resolves_names_and_paths(tmp_path):
    assert load_dataset("iris").name == "iris"
    assert load_dataset("xor", seed=3).provenance["parameters"]["seed"] == 3
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n")
    assert load_dataset(str(path)).n_examples == 3
    with pytest.raises(HillwalkError, match="unknown data set 'nope'"):
        load_dataset("nope")
    with pytest.raises(HillwalkError, match="unsupported file type .txt"):
        (tmp_path / "f.txt").write_text("1")
        load_dataset(str(tmp_path / "f.txt"))
    with pytest.raises(HillwalkError, match="subsample do not apply to a embedded data set|subsample do not apply"):
        load_dataset("digits", subsample=10)


# --------------------------------------------------------------------------- CSV

def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header_string_labels_and_named_label_column(tmp_path):
    path = write(tmp_path, "species,petal,sepal\ncat,1.5,2\ndog,2.5,3\ncat,0.5,1\n")
    data = load_csv(path, label_column="species")
    assert data.class_names == ("cat", "dog")
    assert data.y.tolist() == [0, 1, 0]
    assert data.feature_names == ("petal", "sepal")
    np.testing.assert_array_equal(data.X, [[1.5, 2], [2.5, 3], [0.5, 1]])


def test_csv_without_header_numeric_labels_last_column(tmp_path):
    data = load_csv(write(tmp_path, "1,2,3\n4,5,1\n7,8,3\n"))
    assert data.class_names == ("1", "3") and data.y.tolist() == [1, 0, 1]
    assert data.X.shape == (3, 2)


def test_csv_label_column_by_index(tmp_path):
    data = load_csv(write(tmp_path, "0,2.0,3.0\n1,5.0,6.0\n1,7.0,8.0\n"), label_column=0)
    assert data.y.tolist() == [0, 1, 1] and data.X.tolist() == [[2, 3], [5, 6], [7, 8]]


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("1,2,0\n3,4\n", "line 2 has 2 fields but line 1 has 3"),
    ("1,2,0\n3,abc,1\n", "line 2, column 2: 'abc' is not a number"),
    ("a,b,y\n1,2,0\n3,nan,1\n", "line 3, b is NaN or infinite"),
    ("1,inf,0\n3,4,1\n", "line 1, column 2 is NaN or infinite"),
    ("1,2,same\n3,4,same\n", "single class"),
    ("a,b,y\n", "has a header but no data rows"),
])
def test_csv_bad_input_says_what_is_wrong(tmp_path, text, message):
    with pytest.raises(HillwalkError, match=message):
        load_csv(write(tmp_path, text))


def test_csv_missing_file_and_unknown_label_column(tmp_path):
    with pytest.raises(HillwalkError, match="no such file; check the path"):
        load_csv(tmp_path / "absent.csv")
    with pytest.raises(HillwalkError, match="no column named 'kind'; the columns are a, b, y"):
        load_csv(write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n"), label_column="kind")


def test_csv_binary_garbage_is_reported(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(HillwalkError, match="garbage.csv"):
        load_csv(path)


# --------------------------------------------------------------------------- NPZ

def test_npz_round_trip(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(12.0).reshape(6, 2), y=np.array([0, 1, 2, 0, 1, 2]))
    data = load_npz(path)
    assert data.n_classes == 3 and data.X.shape == (6, 2)


@pytest.mark.parametrize("arrays, message", [
    (dict(X=np.ones((3, 2)), y=np.array([0, 1])), "X has 3 examples but y has 2 labels"),
    (dict(X=np.ones((3, 2)), y=np.array([0, 1, -1]), class_names=np.array(["a", "b"])), "labels must lie in 0..1"),
    (dict(X=np.ones((3, 2)), y=np.array([0, 1, 2]), class_names=np.array(["a", "b"])), "labels must lie in 0..1"),
    (dict(X=np.array([[1.0, np.nan], [1, 2]]), y=np.array([0, 1])), "NaN or infinite values"),
    (dict(X=np.ones((3, 2)), y=np.array([1, 1, 1])), "single class"),
    (dict(X=np.ones(3), y=np.array([0, 1, 0])), "must be a 2-D table"),
    (dict(X=np.ones((3, 2)), y=np.array([0.5, 1, 0])), "whole numbers"),
    (dict(X=np.ones((3, 2))), "lacks array\\(s\\) y"),
    (dict(X=np.array([["a", "b"]]), y=np.array([0])), "not all numbers"),
])
def test_npz_bad_input_says_what_is_wrong(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(HillwalkError, match=message):
        load_npz(path)


def test_npz_that_is_not_an_archive(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_text("hello")
    with pytest.raises(HillwalkError, match="not a readable .npz archive"):
        load_npz(path)


def _damaged_copies(good):
    """Ways an .npz goes bad: truncated in transfer, bytes flipped inside a member,
    overwritten with text, or emptied."""
    flipped = bytearray(good)
    for k in range(60, 120):
        flipped[k] ^= 0xFF
    return {"truncated": good[:len(good) // 2], "flipped": bytes(flipped), "text": b"hello, not arrays",
            "empty": b""}


@pytest.mark.parametrize("damage", ["truncated", "flipped", "text", "empty"])
def test_a_corrupt_npz_is_reported_as_corrupt_not_as_pickled_data(tmp_path, damage):
    good = tmp_path / "good.npz"
    np.savez(good, X=np.ones((10, 3)), y=np.arange(10) % 2)
    path = tmp_path / f"{damage}.npz"
    path.write_bytes(_damaged_copies(good.read_bytes())[damage])
    with pytest.raises(HillwalkError) as caught:
        load_npz(path)
    message = str(caught.value)
    assert "pickle" not in message.lower()
    assert ("corrupt" in message) or (damage == "empty" and "the file is empty" in message)
    assert "numpy.savez(path, X=X, y=y)" in message  # says how to fix it


def test_an_npz_with_object_arrays_is_refused_for_safety(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, X=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(HillwalkError, match="object arrays .*unpickling can run code"):
        load_npz(path)


# --------------------------------------------------------------------------- CIFAR-10

def write_cifar_folder(folder, per_batch=20, seed=0, data_shape=None, skip=()):
    """Batch files in the python-version format: pickled dicts with bytes keys."""
    rng = np.random.default_rng(seed)
    folder.mkdir(exist_ok=True)
    for name in CIFAR_TRAIN_BATCHES + ("test_batch",):
        if name in skip:
            continue
        shape = data_shape or (per_batch, 3072)
        content = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, shape[0]).tolist(),
                   b"data": rng.integers(0, 256, shape, dtype=np.uint8),
                   b"filenames": [f"img{k}.png".encode() for k in range(shape[0])]}
        with open(folder / name, "wb") as handle:
            pickle.dump(content, handle, protocol=2)
    if "batches.meta" not in skip:
        meta = {b"label_names": [n.encode() for n in ["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                       "frog", "horse", "ship", "truck"]],
                b"num_cases_per_batch": per_batch, b"num_vis": 3072}
        with open(folder / "batches.meta", "wb") as handle:
            pickle.dump(meta, handle, protocol=2)
    return folder


def test_cifar_loader_reads_generated_batches(tmp_path):
    folder = write_cifar_folder(tmp_path / "cifar-10-batches-py")
    data = load_cifar10(folder)
    assert data.X.shape == (100, 3072) and data.X.dtype == np.float64
    assert data.class_names[0] == "airplane" and data.class_names[9] == "truck"
    with open(folder / "data_batch_2", "rb") as handle:
        second = pickle.load(handle, encoding="bytes")
    np.testing.assert_array_equal(data.X[20:40], second[b"data"].astype(float))
    assert data.y[20:40].tolist() == second[b"labels"]


def test_cifar_subsample_is_seeded(tmp_path):
    folder = write_cifar_folder(tmp_path / "c")
    a, b = load_cifar10(folder, subsample=30, seed=4), load_cifar10(folder, subsample=30, seed=4)
    assert a.n_examples == 30
    np.testing.assert_array_equal(a.X, b.X)
    assert "random subsample of 30 from 100 (seed 4)" in a.provenance["steps"]
    assert load_dataset(str(folder), subsample=10).n_examples == 10


def test_cifar_test_batch_by_name(tmp_path):
    folder = write_cifar_folder(tmp_path / "c")
    assert load_cifar10(folder, batches=["test_batch"]).n_examples == 20


def test_cifar_missing_files_are_named(tmp_path):
    folder = write_cifar_folder(tmp_path / "c", skip=("data_batch_3", "batches.meta"))
    with pytest.raises(HillwalkError, match="missing CIFAR-10 file\\(s\\) data_batch_3, batches.meta"):
        load_cifar10(folder)
    with pytest.raises(HillwalkError, match="no such folder"):
        load_cifar10(tmp_path / "nowhere")


def test_cifar_wrong_shape_is_reported(tmp_path):
    folder = write_cifar_folder(tmp_path / "c", data_shape=(20, 1024))
    with pytest.raises(HillwalkError, match="N x 3072 uint8 array, got shape \\(20, 1024\\)"):
        load_cifar10(folder)


def test_cifar_loader_refuses_code_in_pickles(tmp_path):
    folder = write_cifar_folder(tmp_path / "c")

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(folder / "data_batch_1", "wb") as handle:
        pickle.dump({b"data": Exploit()}, handle, protocol=2)
    with pytest.raises(HillwalkError, match="refusing to load (__builtin__|builtins).print"):
        load_cifar10(folder)


def test_cifar_truncated_file(tmp_path):
    folder = write_cifar_folder(tmp_path / "c")
    raw = (folder / "data_batch_1").read_bytes()
    (folder / "data_batch_1").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(HillwalkError, match="not a CIFAR-10 python-version batch file"):
        load_cifar10(folder)


# --------------------------------------------------------------------------- preprocessing

def test_preprocessing_uses_training_statistics():
    data = load_embedded("wine")
    train, val = train_val_split(data, 0.25, seed=0)
    for method, check, step in [
            ("center", lambda X: np.allclose(X.mean(0), 0), "zero-centre"),
            ("standardize", lambda X: np.allclose(X.mean(0), 0) and np.allclose(X.std(0), 1), "standardize"),
            ("minmax", lambda X: np.isclose(X.min(), 0) and np.isclose(X.max(), 1), "scale to [0, 1]")]:
        fitted = Preprocessor.fit(train.X, method)
        assert check(fitted.apply(train).X), method
        np.testing.assert_allclose(fitted.apply(val).X, (val.X - fitted.offset) / fitted.scale)
        assert fitted.apply(train).provenance["steps"][-1].startswith(step)


def test_constant_features_do_not_become_nan():
    X = load_embedded("digits").X  # pixel 0 is always 0
    for method in ("standardize", "minmax"):
        assert np.all(np.isfinite(Preprocessor.fit(X, method).apply(load_embedded("digits")).X))


def test_bias_trick_appends_a_column_of_ones():
    Xb = add_bias(np.arange(6.0).reshape(3, 2))
    assert Xb.shape == (3, 3) and np.all(Xb[:, -1] == 1)


def test_split_is_stratified_seeded_and_disjoint():
    data = load_embedded("iris")
    train, val = train_val_split(data, 0.2, seed=7)
    assert train.n_examples == 120 and val.n_examples == 30
    assert np.bincount(val.y).tolist() == [10, 10, 10]
    again, _ = train_val_split(data, 0.2, seed=7)
    np.testing.assert_array_equal(train.X, again.X)
    rows = {tuple(r) for r in train.X.tolist()} & {tuple(r) for r in val.X.tolist()}
    assert len(rows) <= 1  # iris has one duplicated flower; no example is on both sides otherwise
    assert train_val_split(data, 0.0)[1] is None
    with pytest.raises(HillwalkError, match="validation fraction must be in \\[0, 1\\)"):
        train_val_split(data, 1.5)
