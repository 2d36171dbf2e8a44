"""Data sets: embedded and synthetic sets, loaders, bad input, preprocessing, splits."""
import io
import os
import pickle
import signal
import stat
import zipfile

import numpy as np
import pytest

from hillwalk.core import limits
from hillwalk.core.data.datasets import (
    CIFAR_TRAIN_BATCHES,
    MAX_FEATURE_MAGNITUDE,
    Dataset,
    Preprocessor,
    add_bias,
    load_cifar10,
    load_csv,
    load_dataset,
    load_embedded,
    load_npz,
    make_blobs,
    make_circles,
    make_spiral,
    make_xor,
    require_safe_features,
    train_val_split,
)
from hillwalk.core.errors import HillwalkError
from hillwalk.core.models.objectives import LinearClassifier, prepare_splits


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
    with pytest.raises(HillwalkError, match="^subsample does not apply to an embedded data set; leave the option out$"):
        load_dataset("digits", subsample=10)
    with pytest.raises(HillwalkError, match="^label column does not apply to an NPZ file"):
        np.savez(tmp_path / "d.npz", X=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
        load_dataset(str(tmp_path / "d.npz"), label_column="y")


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


# --------------------------------------------------------------------------- values that overflow

def toy(X, y=None, name="toy"):
    X = np.asarray(X, dtype=float)
    y = np.arange(X.shape[0]) % 2 if y is None else np.asarray(y)
    return Dataset(X, y, ("a", "b"), tuple(f"x{k}" for k in range(X.shape[1])),
                   {"name": name, "source": f"/data/{name}.csv", "format": "csv"})


def huge_values(scale):
    return toy(np.random.default_rng(0).standard_normal((40, 3)) * scale)


@pytest.mark.parametrize("method, message", [
    ("center", "too large for the models: after zero-centre they reach"),
    ("none", "too large for the models: without preprocessing they reach"),
    ("standardize", "too large to standardize: values up to"),
])
def test_values_near_1e300_are_refused_in_words_without_numpy_warnings(method, message):
    # pytest turns every warning into an error (pyproject), so an overflow warning fails here too
    with pytest.raises(HillwalkError, match=message) as caught:
        prepare_splits(huge_values(1e300), method, 0.2, seed=0)
    assert str(caught.value).startswith("/data/toy.csv: ")
    assert "divide it by 1e+300" in str(caught.value)


def test_minmax_of_values_near_the_float_limit_is_refused():
    X = np.r_[np.full((20, 2), -1.7e308), np.full((20, 2), 1.7e308)]
    with pytest.raises(HillwalkError, match="too large to scale to \\[0, 1\\]"):
        prepare_splits(toy(X), "minmax", 0.0)


def test_the_feature_bound_is_where_the_models_arithmetic_stays_finite():
    # 1e100 is accepted as it is, and a model trains on it without overflow; just above is refused
    train, _ = prepare_splits(toy(np.full((40, 2), MAX_FEATURE_MAGNITUDE) * np.r_[np.ones(20), -np.ones(20)][:, None],
                                  np.r_[np.zeros(20, int), np.ones(20, int)]), "none", 0.0)
    model = LinearClassifier(train, loss="svm")
    theta = model.initial_theta(1e-3)
    for _ in range(50):
        loss, grad = model.loss_and_grad(theta)
        theta = theta - 1e-3 * grad
    assert np.isfinite(model.loss(theta)) and np.all(np.isfinite(grad))
    with pytest.raises(HillwalkError, match="too large for the models"):
        prepare_splits(toy(np.full((40, 2), 2 * MAX_FEATURE_MAGNITUDE)), "none", 0.0)


def test_large_values_that_standardize_well_are_accepted():
    train, val = prepare_splits(huge_values(1e120), "standardize", 0.25, seed=0)
    np.testing.assert_allclose(train.X.std(axis=0), 1)
    assert np.all(np.abs(val.X) < 10)


def test_a_validation_part_that_overflows_with_the_training_statistics_is_refused():
    # the training part is constant in feature 0 (scale 1), a validation example is 1e300
    preprocessor = Preprocessor.fit(np.zeros((5, 1)), "standardize")
    with pytest.raises(HillwalkError, match="too large"):
        require_safe_features(preprocessor.apply(toy(np.array([[0.0], [1e300]]))))


def test_a_complex_x_is_refused_not_cast(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, X=np.ones((6, 2)) + 2j, y=np.arange(6) % 2)
    with pytest.raises(HillwalkError, match="X holds complex numbers; features must be real"):
        load_npz(path)
    with pytest.raises(HillwalkError, match="complex"):
        Dataset(np.ones((2, 2), dtype=complex), np.array([0, 1]), ("a", "b"), ("x1", "x2"))


# --------------------------------------------------------------------------- labels

def save_labels(tmp_path, y, **extra):
    path = tmp_path / "labels.npz"
    np.savez(path, X=np.arange(2.0 * len(y)).reshape(len(y), 2), y=np.asarray(y), **extra)
    return path


def test_huge_labels_are_renumbered_not_allocated(tmp_path):
    data = load_npz(save_labels(tmp_path, [0, 10 ** 9, 10 ** 9, 0, 10 ** 18, 0]))
    assert data.n_classes == 3 and data.class_names == ("0", "1000000000", "1000000000000000000")
    assert data.y.tolist() == [0, 1, 1, 0, 2, 0]
    mapping = data.provenance["label_mapping"]
    assert mapping == "labels 0, 1000000000, 1000000000000000000 renumbered as classes 0..2 in increasing order"
    assert mapping in data.summary()


def test_minus_one_and_one_become_two_named_classes(tmp_path):
    data = load_npz(save_labels(tmp_path, [-1.0, 1.0, 1.0, -1.0]))
    assert data.class_names == ("-1", "1") and data.y.tolist() == [0, 1, 1, 0]


def test_labels_already_0_to_c_minus_1_are_kept_without_a_mapping(tmp_path):
    data = load_npz(save_labels(tmp_path, [2, 0, 1, 1, 0, 2]))
    assert data.class_names == ("0", "1", "2") and data.y.tolist() == [2, 0, 1, 1, 0, 2]
    assert "label_mapping" not in data.provenance and "renumbered" not in data.summary()


def test_labels_with_a_gap_are_renumbered_and_more_than_four_are_elided(tmp_path):
    data = load_npz(save_labels(tmp_path, [0, 2, 4, 6, 8, 8, 6, 4, 2, 0]))
    assert data.class_names == ("0", "2", "4", "6", "8")
    assert data.provenance["label_mapping"].startswith("labels 0, 2, 4, 6, ... renumbered as classes 0..4")


def test_fractional_labels_are_refused_naming_the_first(tmp_path):
    with pytest.raises(HillwalkError, match="label 0.5 of example 2 is not"):
        load_npz(save_labels(tmp_path, [0, 1, 0.5, 1]))
    with pytest.raises(HillwalkError, match="label nan of example 1 is not"):
        load_npz(save_labels(tmp_path, [0, np.nan, 1, 1]))


@pytest.mark.parametrize("labels", [np.arange(6) * 10 ** 9, np.arange(6)])
def test_labels_that_are_all_distinct_are_refused_at_once(tmp_path, labels):
    with pytest.raises(HillwalkError, match="6 examples in 6 classes: every example has a label of its own"):
        load_npz(save_labels(tmp_path, labels))


def test_a_csv_label_column_of_measurements_is_refused(tmp_path):
    with pytest.raises(HillwalkError, match="4 examples in 4 classes"):
        load_csv(write(tmp_path, "1,2,0.31\n3,4,0.52\n5,6,0.77\n7,8,0.12\n"))


def test_with_class_names_labels_must_index_them(tmp_path):
    with pytest.raises(HillwalkError, match="labels must lie in 0..1 for 2 classes, found 0..1000000000"):
        load_npz(save_labels(tmp_path, [0, 10 ** 9, 0, 10 ** 9], class_names=np.array(["no", "yes"])))


# --------------------------------------------------------------------------- things that are not files

HANG_LIMIT_S = 60


@pytest.fixture
def no_hang():
    """Fail, rather than hang the suite, when a loader blocks on a pipe."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"the loader did not return within {HANG_LIMIT_S} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HANG_LIMIT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", ["x.csv", "x.npz"])
def test_a_named_pipe_is_refused_unopened(tmp_path, no_hang, name):
    path = tmp_path / name
    os.mkfifo(path)
    with pytest.raises(HillwalkError, match=f"{name}: is a named pipe \\(FIFO\\), not a regular file"):
        load_dataset(str(path))


@pytest.mark.parametrize("name", ["zero.csv", "zero.npz"])
def test_a_link_to_a_device_is_refused_unopened(tmp_path, no_hang, name):
    path = tmp_path / name
    path.symlink_to("/dev/zero")
    with pytest.raises(HillwalkError, match="is a character device \\(through a symbolic link\\)"):
        load_dataset(str(path))


def test_a_socket_is_refused(tmp_path, no_hang):
    path = tmp_path / "s.csv"
    os.mknod(path, stat.S_IFSOCK | 0o600)
    with pytest.raises(HillwalkError, match="is a socket"):
        load_csv(path)


@pytest.mark.parametrize("name", ["data_batch_2", "batches.meta"])
def test_a_cifar_folder_with_a_pipe_for_a_file_is_refused(tmp_path, no_hang, name):
    folder = write_cifar_folder(tmp_path / "c")
    (folder / name).unlink()
    os.mkfifo(folder / name)
    with pytest.raises(HillwalkError, match=f"{name}: is a named pipe"):
        load_cifar10(folder)


# --------------------------------------------------------------------------- declared sizes

def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape, descr="<f8"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def zip_of(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_an_npy_header_declaring_745_gb_is_refused_before_reading(tmp_path):
    path = zip_of(tmp_path / "bomb.npz", {"X.npy": npy_header((10 ** 6, 10 ** 5)) + bytes(2 ** 20),
                                         "y.npy": npy(np.arange(10) % 2)}, zipfile.ZIP_DEFLATED)
    with pytest.raises(HillwalkError, match="X.npy declares an array of 1000000 x 100000 float64 \\(745 GB\\), "
                                            "over the 1.5 GB budget"):
        load_npz(path)


def test_a_zip_header_declaring_more_than_the_budget_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "DATA_BUDGET_BYTES", 1000)
    path = zip_of(tmp_path / "d.npz", {"X.npy": npy(np.zeros((200, 2))), "y.npy": npy(np.arange(200) % 2)},
                  zipfile.ZIP_DEFLATED)
    with pytest.raises(HillwalkError, match="member X.npy declares 3.25 kB uncompressed, over the 1000 bytes budget"):
        load_npz(path)


def test_x_is_counted_as_float64_and_the_arrays_together(tmp_path, monkeypatch):
    small = tmp_path / "small.npz"
    np.savez(small, X=np.zeros((100, 10), dtype=np.uint8), y=np.arange(100) % 2)
    monkeypatch.setattr(limits, "DATA_BUDGET_BYTES", 4000)  # 1000 bytes of uint8, 8000 as float64
    with pytest.raises(HillwalkError, match="X.npy declares an array of 100 x 10 uint8 \\(7.81 kB\\)"):
        load_npz(small)
    monkeypatch.setattr(limits, "DATA_BUDGET_BYTES", 8500)  # X fits, X and y (800 bytes) do not
    with pytest.raises(HillwalkError, match="its arrays declare 8.59 kB together"):
        load_npz(small)
    monkeypatch.setattr(limits, "DATA_BUDGET_BYTES", 9000)
    assert load_npz(small).n_examples == 100


def test_a_member_that_is_not_an_npy_array_is_refused(tmp_path):
    path = zip_of(tmp_path / "p.npz", {"X.npy": pickle.dumps([[1.0, 2.0]] * 4), "y.npy": npy([0, 1, 0, 1])})
    with pytest.raises(HillwalkError, match="member X.npy is not a .npy array: the archive is corrupt"):
        load_npz(path)
    raw = zip_of(tmp_path / "r.npz", {"X": b"1,2\n3,4\n", "y.npy": npy([0, 1])})  # numpy.load reads "X" itself
    with pytest.raises(HillwalkError, match="member X is not a .npy array"):
        load_npz(raw)


def test_an_object_array_is_refused_from_its_header(tmp_path):
    path = zip_of(tmp_path / "o.npz", {"X.npy": npy_header((2, 2), "|O") + b"\x80\x02N.", "y.npy": npy([0, 1])})
    with pytest.raises(HillwalkError, match="object arrays .*unpickling can run code"):
        load_npz(path)


def test_a_csv_larger_than_the_budget_is_refused_by_its_size(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("1,2,0\n3,4,1\n")
        handle.truncate(2 ** 31)  # sparse: no disk space taken
    with pytest.raises(HillwalkError, match="big.csv: the file is 2 GB, over the 1.5 GB budget for a data set"):
        load_csv(path)


def test_a_csv_whose_numbers_outgrow_the_budget_is_refused_while_read(tmp_path, monkeypatch):
    path = write(tmp_path, "0,0,1\n" * 300)  # 1800 bytes of text, 600 features = 4800 bytes as float64
    monkeypatch.setattr(limits, "DATA_BUDGET_BYTES", 4000)
    with pytest.raises(HillwalkError, match="holds more than 500 feature values"):
        load_csv(path)


def test_csv_messages_give_the_files_line_numbers(tmp_path):
    with pytest.raises(HillwalkError, match="line 4, column 2: 'abc' is not a number"):
        load_csv(write(tmp_path, "1,2,0\n\n\n3,abc,1\n"))
    with pytest.raises(HillwalkError, match="line 3 has 2 fields but line 2 has 3"):
        load_csv(write(tmp_path, "\n1,2,0\n3,4\n"))


def test_cifar_batches_beyond_the_budget_are_refused(tmp_path, monkeypatch):
    folder = write_cifar_folder(tmp_path / "c")  # 5 x 20 images: about 450 kB on disk, 2.4 MB as float64
    monkeypatch.setattr(limits, "DATA_BUDGET_BYTES", 200_000)
    with pytest.raises(HillwalkError, match="the batch files take 4\\d\\d kB, over the 195 kB budget"):
        load_cifar10(folder)
    monkeypatch.setattr(limits, "DATA_BUDGET_BYTES", 1_000_000)
    with pytest.raises(HillwalkError, match="100 images as float64 features take 2.34 MB.*subsample of at most 40"):
        load_cifar10(folder)
    assert load_cifar10(folder, subsample=40).n_examples == 40


# --------------------------------------------------------------------------- splits and seeds

def test_a_share_that_holds_out_a_whole_class_is_refused():
    with pytest.raises(HillwalkError, match="iris: a validation share of 0.99 would hold out all 50 examples of "
                                            "class 'setosa'.*at most 0.9"):
        prepare_splits(load_embedded("iris"), "center", 0.99)
    train, val = train_val_split(load_embedded("iris"), 0.9, seed=0)
    assert np.bincount(train.y).tolist() == [5, 5, 5] and np.bincount(val.y).tolist() == [45, 45, 45]


def test_a_small_class_gets_one_validation_example_and_a_single_one_is_refused(tmp_path):
    two = toy(np.arange(24.0).reshape(12, 2), [0] * 10 + [1] * 2)
    train, val = train_val_split(two, 0.2, seed=0)
    assert np.bincount(val.y).tolist() == [2, 1] and np.bincount(train.y).tolist() == [8, 1]
    one = toy(np.arange(22.0).reshape(11, 2), [0] * 10 + [1])
    with pytest.raises(HillwalkError, match="class 'b' has a single example.*set the validation share to 0"):
        train_val_split(one, 0.2)
    assert train_val_split(one, 0.0)[1] is None
    with pytest.raises(HillwalkError, match="would hold out all 2 examples of class 'b'.*at most 0.5"):
        train_val_split(two, 0.9)


def test_a_class_named_but_absent_is_on_neither_side():
    data = Dataset(np.arange(20.0).reshape(10, 2), np.arange(10) % 2, ("a", "b", "never"), ("x1", "x2"))
    train, val = train_val_split(data, 0.2, seed=0)
    assert train.n_examples + val.n_examples == 10 and 2 not in train.y and 2 not in val.y


@pytest.mark.parametrize("call", [
    lambda: make_spiral(seed=-1), lambda: make_blobs(seed=-1), lambda: make_xor(seed=2 ** 32),
    lambda: make_circles(seed=1.5), lambda: load_dataset("xor", seed=-1),
    lambda: train_val_split(load_embedded("iris"), 0.2, seed=-1),
    lambda: train_val_split(load_embedded("iris"), 0.0, seed=-1),
])
def test_a_bad_seed_is_a_hillwalk_error_not_a_value_error(call):
    with pytest.raises(HillwalkError, match="the seed must be a whole number from 0"):
        call()


def test_a_bad_seed_for_the_cifar_subsample_is_refused(tmp_path):
    with pytest.raises(HillwalkError, match="the seed must be"):
        load_cifar10(write_cifar_folder(tmp_path / "c"), subsample=10, seed=-3)


def test_numpy_integer_seeds_are_accepted():
    np.testing.assert_array_equal(make_xor(seed=np.int64(3)).X, make_xor(seed=3).X)
