"""Bad data files: values that overflow, complex or nonsensical labels, files that are not
files (named pipes, devices, sockets), archives that declare more than memory holds, splits
that leave a class without examples, bad seeds, and the classic malformed tables.

Every case is tried on the command line (``render --dataset PATH``) and, where a person can
reach it, in the window through the Data panel's "Open CSV/NPZ…" or "Open CIFAR-10
folder…" button (the file dialog answers with the case's path). A negative seed and a
validation share above the spin box's 0.9 cannot be typed in the window: those cases are
command-line only.
"""
from __future__ import annotations

import io
import os
import pickle
import stat
import struct
import zipfile
from unittest import mock

import numpy as np

from . import BadInput

CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


# --------------------------------------------------------------------------- making files

def _fresh(path):
    """``path`` with nothing at it (a case's files may be made twice in one folder)."""
    if os.path.lexists(path):
        os.unlink(path)
    return path


def _csv(rows):
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def _file(name, content):
    """A maker of the file ``name`` holding ``content`` (text, or bytes as they are)."""
    def make(place):
        path = place.folder / name
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        return path
    return make



def _npz_file(name, **arrays):
    def make(place):
        path = place.folder / name
        np.savez(path, **arrays)
        return path
    return make


def _fifo(name):
    def make(place):
        path = _fresh(place.folder / name)
        os.mkfifo(path)
        return path
    return make


def _socket(name):
    def make(place):
        path = _fresh(place.folder / name)
        os.mknod(path, stat.S_IFSOCK | 0o600)  # a socket's file, as a bound server leaves it
        return path
    return make


def _link_to(name, target):
    def make(place):
        path = _fresh(place.folder / name)
        os.symlink(target, path)
        return path
    return make


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _zip(path, members, compression=zipfile.ZIP_STORED):
    """An archive of ``members`` ({name: bytes}) written with plain zip headers (np.savez
    writes zip64 ones, which hide the 32-bit size fields patched below)."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _npy_header_bomb(name):
    """X.npy whose header declares 10^6 x 10^5 float64 (745 GB), followed by 1 MB of
    zeros that deflate to almost nothing: a reader that trusts the header allocates it."""
    def make(place):
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (10 ** 6, 10 ** 5)})
        return _zip(place.folder / name, {"X.npy": header.getvalue() + bytes(2 ** 20),
                                          "y.npy": _npy_bytes(np.arange(10) % 2)}, zipfile.ZIP_DEFLATED)
    return make


DECLARED_SIZE = 4_000_000_000  # 3.73 GB, as large as a plain zip header's 32-bit field holds


def _zip_header_bomb(name):
    """A genuine small X.npy whose zip headers (local and central) declare 4e9 bytes
    uncompressed: what a crafted archive says before anyone inflates it."""
    def make(place):
        path = _zip(place.folder / name, {"X.npy": _npy_bytes(np.ones((10, 2))),
                                          "y.npy": _npy_bytes(np.arange(10) % 2)})
        raw = bytearray(path.read_bytes())
        patched = 0
        for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            name_at = 30 if signature == b"PK\x03\x04" else 46
            start = raw.find(signature)
            while start >= 0:
                length = struct.unpack_from("<H", raw, start + name_at - 4 if signature == b"PK\x03\x04"
                                            else start + 28)[0]
                if raw[start + name_at:start + name_at + length] == b"X.npy":
                    struct.pack_into("<I", raw, start + size_at, DECLARED_SIZE)
                    patched += 1
                start = raw.find(signature, start + 4)
        assert patched == 2, "the zip headers of X.npy were not found"
        path.write_bytes(bytes(raw))
        return path
    return make


def _npz_member_not_npy(name):
    """X.npy holding a pickle stream instead of an array: numpy.load hands such a member
    back as raw bytes."""
    def make(place):
        return _zip(place.folder / name, {"X.npy": pickle.dumps([[1.0, 2.0]] * 10, protocol=2),
                                          "y.npy": _npy_bytes(np.arange(10) % 2)})
    return make


def _sparse_csv(name, size):
    """A CSV whose first lines are fine and whose size on disk is ``size`` bytes (a sparse
    file: the rest reads as zero bytes, and takes no space)."""
    def make(place):
        path = place.folder / name
        with open(path, "w") as handle:
            handle.write(_csv([[1, 2, 0], [3, 4, 1]]))
            handle.truncate(size)
        return path
    return make


def _cifar_folder(name, fifo_batch=None):
    """A CIFAR-10 python folder of 20 images a batch; ``fifo_batch`` is a named pipe."""
    def make(place):
        folder = place.folder / name
        folder.mkdir(exist_ok=True)
        rng = np.random.default_rng(0)
        for batch in CIFAR_BATCHES:
            path = _fresh(folder / batch)
            if batch == fifo_batch:
                os.mkfifo(path)
                continue
            content = {b"labels": (np.arange(20) % 10).tolist(),
                       b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8)}
            path.write_bytes(pickle.dumps(content, protocol=2))
        meta = {b"label_names": [f"class {k}".encode() for k in range(10)]}
        (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
        return folder
    return make


def _folder(name, files=()):
    def make(place):
        folder = place.folder / name
        folder.mkdir(exist_ok=True)
        for file_name in files:
            (folder / file_name).write_text("not an image batch\n")
        return folder
    return make


def _missing(name):
    return lambda place: place.folder / name


# --------------------------------------------------------------------------- how a case is tried

def _render(make, *options):
    def cli(place):
        path = make(place)
        return ["render", "--dataset", str(path), "--grid", "5", "--train-steps", "2", *options,
                "--out", str(place.folder / "o.npz")]
    return cli


def _render_named(dataset, *options):
    def cli(place):
        return ["render", "--dataset", dataset, "--grid", "5", "--train-steps", "2", *options,
                "--out", str(place.folder / "o.npz")]
    return cli


def _open_in_window(make, folder=False):
    """The Data panel's open button, the file dialog answering with the case's path."""
    def prepare(place):
        path = make(place)

        def act(window):
            from PyQt6 import QtWidgets

            panel = window.data_panel
            if folder:
                dialog = mock.patch.object(QtWidgets.QFileDialog, "getExistingDirectory", return_value=str(path))
                button = panel.open_folder_button
            else:
                dialog = mock.patch.object(QtWidgets.QFileDialog, "getOpenFileName",
                                           return_value=(str(path), "Data (*.csv *.npz)"))
                button = panel.open_file_button
            assert button.isEnabled(), "the open button is disabled"
            with dialog:
                button.click()
        return act
    return prepare


def _case(name, what, make, message, folder=False, window=True, options=()):
    return BadInput(name, "data", what, message, cli=_render(make, *options),
                    window=_open_in_window(make, folder) if window else None)


_rng = np.random.default_rng(12)
_X40 = np.round(_rng.standard_normal((40, 3)), 3)
_Y40 = np.arange(40) % 2

CASES = [
    # values that overflow the arithmetic
    _case("data-overflow-csv", "a CSV whose values are near 1e300: the loss overflows after zero-centring",
          _file("huge.csv", _csv(np.c_[_X40 * 1e300, _Y40].tolist())), "too large"),
    _case("data-overflow-standardize", "values near 1e300 standardized: their squares overflow",
          _file("huge.csv", _csv(np.c_[_X40 * 1e300, _Y40].tolist())), "too large to standardize",
          window=False, options=("--preprocess", "standardize")),
    _case("data-overflow-npz", "an NPZ whose features reach 1.7e308, used as they are",
          _npz_file("huge.npz", X=_X40 / np.abs(_X40).max() * 1.7e308, y=_Y40), "too large", window=False,
          options=("--preprocess", "none")),
    _case("data-complex-npz", "an NPZ whose X holds complex numbers",
          _npz_file("complex.npz", X=_X40 + 1j, y=_Y40), "X holds complex numbers"),
    # labels
    _case("data-labels-fractional", "an NPZ whose labels are 0.5, 1.5",
          _npz_file("half.npz", X=_X40, y=_Y40 + 0.5), "whole numbers"),
    _case("data-labels-all-distinct", "an NPZ whose 40 labels are 0, 1e9, 2e9, ...: one class an example",
          _npz_file("ids.npz", X=_X40, y=np.arange(40) * 10 ** 9), "40 examples in 40 classes"),
    _case("data-labels-all-distinct-csv", "a CSV whose last column is a measurement, not a class",
          _file("measured.csv", _csv(_X40.tolist())), "40 examples in 40 classes"),
    _case("data-labels-huge-with-names", "an NPZ with two class names and labels 0 and 1e9",
          _npz_file("named.npz", X=_X40, y=_Y40 * 10 ** 9, class_names=np.array(["no", "yes"])),
          "labels must lie in 0..1"),
    _case("data-labels-single-class", "an NPZ whose examples all have label 1",
          _npz_file("one.npz", X=_X40, y=np.ones(40, dtype=int)), "single class"),
    # things that are not regular files
    _case("data-fifo-csv", "a named pipe called x.csv", _fifo("x.csv"), "named pipe"),
    _case("data-fifo-npz", "a named pipe called x.npz", _fifo("x.npz"), "named pipe"),
    _case("data-device-csv", "zero.csv, a symbolic link to /dev/zero", _link_to("zero.csv", "/dev/zero"),
          "character device"),
    _case("data-device-npz", "zero.npz, a symbolic link to /dev/zero", _link_to("zero.npz", "/dev/zero"),
          "character device"),
    _case("data-socket-csv", "a socket called s.csv", _socket("s.csv"), "socket"),
    _case("data-cifar-fifo-batch", "a CIFAR-10 folder whose data_batch_3 is a named pipe",
          _cifar_folder("cifar-10-batches-py", fifo_batch="data_batch_3"), "named pipe", folder=True),
    # sizes beyond memory
    _case("data-npz-bomb-npy-header", "an NPZ whose X.npy header declares 10^6 x 10^5 float64",
          _npy_header_bomb("bomb.npz"), "745 GB"),
    _case("data-npz-bomb-zip-header", "an NPZ whose zip headers declare X.npy as 4e9 bytes",
          _zip_header_bomb("declared.npz"), "3.73 GB"),
    _case("data-csv-too-large", "a 2 GB CSV (sparse)", _sparse_csv("big.csv", 2 ** 31), "2 GB"),
    _case("data-npz-member-not-npy", "an NPZ whose X.npy is a pickle stream, not an array",
          _npz_member_not_npy("pickled.npz"), "not a .npy array"),
    _case("data-npz-object-array", "an NPZ of object arrays (pickled Python objects)",
          _npz_file("objects.npz", X=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1])),
          "unpickling can run code"),
    # splits
    _case("data-val-share-singleton-class", "a CSV with a class of one example, validation share 0.2",
          _file("rare.csv", _csv(np.c_[_X40[:11], [0] * 5 + [1] * 5 + [2]].tolist())), "validation share"),
    BadInput("data-val-share-099-iris", "data", "a validation share of 0.99 on iris", "validation share",
             cli=_render_named("iris", "--val-fraction", "0.99")),
    _case("data-val-share-small-csv", "a validation share of 0.9 on 10 examples in 5 classes",
          _file("ten.csv", _csv(np.c_[_X40[:10], np.arange(10) // 2].tolist())), "validation share",
          window=False, options=("--val-fraction", "0.9")),
    # seeds
    BadInput("data-seed-negative-synthetic", "data", "seed -1 for the synthetic spiral", "seed",
             cli=_render_named("spiral", "--seed", "-1")),
    BadInput("data-seed-negative-split", "data", "seed -1 for iris's split", "seed",
             cli=_render_named("iris", "--seed", "-1")),
    # the classics
    _case("data-csv-empty", "an empty CSV", _file("empty.csv", ""), "the file is empty"),
    _case("data-csv-ragged", "a CSV whose line 2 has a field fewer", _file("ragged.csv", "1,2,0\n3,4\n5,6,1\n"),
          "line 2 has 2 fields but line 1 has 3"),
    _case("data-csv-text", "a CSV with a word among the numbers",
          _file("words.csv", "1,2,0\n3,abc,1\n5,6,1\n"), "'abc' is not a number"),
    _case("data-csv-nan", "a CSV with a NaN feature", _file("nan.csv", "a,b,y\n1,2,0\n3,nan,1\n5,6,1\n"),
          "NaN or infinite"),
    _case("data-csv-binary", "binary bytes called .csv", _file("bytes.csv", bytes(range(256)) * 4),
          "not a text CSV file"),
    _case("data-npz-nan", "an NPZ with NaN in X", _npz_file("nan.npz", X=np.where(_X40 > 1, np.nan, _X40), y=_Y40),
          "NaN or infinite"),
    _case("data-npz-missing-y", "an NPZ without y", _npz_file("noy.npz", X=_X40), "lacks array(s) y"),
    _case("data-npz-1d-x", "an NPZ whose X is a 1-D list", _npz_file("flat.npz", X=_X40[:, 0], y=_Y40),
          "must be a 2-D table"),
    _case("data-npz-length-mismatch", "an NPZ with 40 examples and 39 labels",
          _npz_file("short.npz", X=_X40, y=_Y40[:-1]), "X has 40 examples but y has 39 labels"),
    _case("data-npz-not-zip", "text called .npz", _file("text.npz", "hello\n"), "not a readable .npz archive"),
    _case("data-missing-path", "a path to no file", _missing("nowhere.csv"), "no such file"),
    _case("data-folder-not-cifar", "a folder of other files opened as CIFAR-10",
          _folder("photos", ["a.txt", "b.txt"]), "missing CIFAR-10 file", folder=True),
]
