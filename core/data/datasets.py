"""Data sets: the :class:`Dataset` value, embedded and synthetic sets, file loaders,
preprocessing and train/validation splits.

Every loader validates what it reads and raises :class:`~core.errors.HillwalkError`
(and nothing else) with a message that names the file, says what is wrong and how to fix
it. Every random choice takes a seed.

Nothing is opened that could hang or exhaust memory: a path must name a regular file
(:func:`~core.io.files.require_regular_file`: not a named pipe, a device or a socket,
also through a symbolic link), and what a file declares (its size on disk, a zip member's
size, an ``.npy`` header's shape) is checked against
:data:`~core.limits.DATA_BUDGET_BYTES` before it is read.
"""
from __future__ import annotations

import csv
import importlib.resources
import itertools
import json
import math
import pickle
import zipfile
from array import array
from dataclasses import InitVar, dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import limits
from ..errors import HillwalkError, require_choice
from ..io.files import require_regular_file

EMBEDDED_NAMES = ("digits", "iris", "wine")
SYNTHETIC_NAMES = ("spiral", "blobs", "xor", "circles")
PREPROCESSING_METHODS = ("none", "center", "standardize", "minmax")
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_FEATURES = 3072  # 32 x 32 pixels x 3 colour channels, stored channel by channel


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled data set.

    Attributes
    ----------
    X : float64 array, shape (N, D)
        One example per row (no bias column; see :func:`add_bias`).
    y : int64 array, shape (N,)
        Class of each example, in ``0..C-1``.
    class_names : tuple of str, length C
    feature_names : tuple of str, length D
    provenance : dict
        ``name``, ``source``, ``licence`` where known, and ``steps``: the list of
        processing steps applied since loading, in order.
    copy : bool (init only)
        Copy X and y (the default): the data set never shares an array its caller could
        change. False takes them as they are (converted to float64 / int64 only if they
        are not): for arrays the app has just made and hands over, so that loading,
        splitting and preprocessing a large set do not copy X again at every step. The
        arrays are made read-only either way.
    """

    X: np.ndarray
    y: np.ndarray
    class_names: tuple
    feature_names: tuple
    provenance: dict = field(default_factory=dict)
    copy: InitVar[bool] = True

    def __post_init__(self, copy=True):
        source = self.provenance.get("source", self.provenance.get("name", "data set"))
        X, y = validate_arrays(self.X, self.y, len(self.class_names), source, copy=copy)
        if len(self.feature_names) != X.shape[1]:
            raise HillwalkError(
                f"{source}: {len(self.feature_names)} feature names for {X.shape[1]} features")
        X.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        object.__setattr__(self, "feature_names", tuple(str(f) for f in self.feature_names))
        provenance = dict(self.provenance)
        provenance["steps"] = list(provenance.get("steps", []))
        object.__setattr__(self, "provenance", provenance)

    @property
    def n_examples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def name(self) -> str:
        return self.provenance.get("name", "data")

    @property
    def origin(self) -> str:
        """How messages name this data: a file's path, or a shipped or synthetic set's name."""
        return self.provenance.get("source", self.name) if "format" in self.provenance else self.name

    def with_step(self, X, y, step: str, copy: bool = True) -> "Dataset":
        """A data set of new arrays with ``step`` appended to the provenance, copied unless
        ``copy`` is False (the split and preprocessing hand over arrays they just made)."""
        provenance = dict(self.provenance)
        provenance["steps"] = list(self.provenance["steps"]) + [step]
        return replace(self, X=X, y=y, provenance=provenance, copy=copy)

    def summary(self) -> str:
        """One line: size, classes and, when the file's labels were renumbered, how."""
        counts = np.bincount(self.y, minlength=self.n_classes)
        mapping = self.provenance.get("label_mapping")
        return (f"{self.name}: {self.n_examples} examples x {self.n_features} features, "
                f"{self.n_classes} classes (smallest class {counts.min()}, largest {counts.max()})"
                + (f"; {mapping}" if mapping else ""))


def validate_arrays(X, y, n_classes, source="data", copy=True):
    """Check and convert a design matrix and labels.

    Parameters
    ----------
    X : array-like, shape (N, D)
    y : array-like of int, shape (N,)
    n_classes : int
        C; labels must lie in ``0..C-1``.
    source : str
        Named in error messages (a file path or a data set name).
    copy : bool
        False: no copy of arrays that are float64 / int64 already.

    Returns
    -------
    X : float64 array, shape (N, D) (a copy, unless ``copy`` is False)
    y : int64 array, shape (N,) (a copy, unless ``copy`` is False)
    """
    if np.asarray(X).dtype.kind == "c":  # float64 would drop the imaginary part with a warning
        raise HillwalkError(f"{source}: X holds complex numbers; features must be real: save the real part "
                            "(X.real) or the magnitude (numpy.abs(X)) instead")
    if np.asarray(X).dtype.kind in "mMV":  # dates, durations, raw bytes: not features
        raise HillwalkError(f"{source}: X holds {np.asarray(X).dtype} values, not numbers; save the features as "
                            "a numeric array")
    try:
        with np.errstate(over="raise", invalid="raise"):
            X = np.array(X, dtype=np.float64) if copy else np.asarray(X, dtype=np.float64)
    except FloatingPointError:
        raise HillwalkError(f"{source}: some features are too large for 64-bit floats (beyond 1.8e308); "
                            "rescale them") from None
    except (TypeError, ValueError):
        raise HillwalkError(f"{source}: the features are not all numbers; "
                            "remove or encode non-numeric columns") from None
    y_raw = np.asarray(y)
    if X.ndim != 2:
        raise HillwalkError(f"{source}: X must be a 2-D table (examples x features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise HillwalkError(f"{source}: the data set is empty (shape {X.shape}); it needs at least "
                            "one example with at least one feature")
    if y_raw.ndim != 1:
        raise HillwalkError(f"{source}: y must be a 1-D list of labels, got shape {y_raw.shape}")
    if y_raw.shape[0] != X.shape[0]:
        raise HillwalkError(f"{source}: X has {X.shape[0]} examples but y has {y_raw.shape[0]} labels; "
                            "they must have the same length")
    if not _all_finite(X):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise HillwalkError(f"{source}: X holds NaN or infinite values (first at example {bad[0]}, "
                            f"feature {bad[1]}); remove or impute them")
    if y_raw.dtype.kind == "f":
        _require_whole_labels(y_raw, source)
    elif y_raw.dtype.kind not in "iub":
        raise HillwalkError(f"{source}: labels must be integers 0..C-1, got values of type {y_raw.dtype}")
    y = y_raw.astype(np.int64, copy=copy)
    if y.min() < 0 or y.max() >= n_classes:
        raise HillwalkError(f"{source}: labels must lie in 0..{n_classes - 1} for {n_classes} classes, "
                            f"found {y.min()}..{y.max()}")
    return X, y


def _block_rows(X, block_bytes=2 ** 22):
    """How many rows of X (N, D) make a block of about ``block_bytes`` as float64: the
    unit of the loaders' and the split's work, so that no N x D temporary is made."""
    return max(1, block_bytes // (8 * max(1, X.shape[1])))


def _all_finite(X):
    """``np.all(np.isfinite(X))`` a block of rows at a time: no N x D temporary."""
    rows = _block_rows(X)
    return all(np.isfinite(X[start:start + rows]).all() for start in range(0, X.shape[0], rows))


def _require_whole_labels(y, source):
    """Raise unless the float labels ``y`` (any shape) are finite whole numbers."""
    bad = ~np.isfinite(y)
    bad[~bad] = y[~bad] != np.round(y[~bad])
    if bad.any():
        first = np.argwhere(bad)[0]
        raise HillwalkError(f"{source}: labels must be whole numbers 0..C-1 (class numbers), but label "
                            f"{y[tuple(first)]:g} of example {first[0]} is not; give each class a whole number")


def require_two_classes(data: "Dataset") -> "Dataset":
    """Return ``data`` unchanged, or raise when all its examples share one class."""
    if np.unique(data.y).size < 2:
        source = data.origin
        raise HillwalkError(f"{source}: all examples belong to a single class; a classifier needs at "
                            "least two classes")
    return data


def require_usable_classes(data: "Dataset") -> "Dataset":
    """``data`` unchanged if its labels make classes a classifier can learn: at least two,
    and not one for every example (labels that are all distinct are identifiers or a
    measurement, not classes; there is nothing to generalize from, and no class could
    give both a training and a validation example)."""
    require_two_classes(data)
    present = np.unique(data.y).size
    if present == data.n_examples:
        source = data.origin
        raise HillwalkError(f"{source}: {data.n_examples} examples in {present} classes: every example has a "
                            "label of its own, so the labels are identifiers or measurements, not classes; "
                            "give each example the label of its class (in a CSV, choose the label column)")
    return data


# --------------------------------------------------------------------------- embedded sets

def load_embedded(name: str) -> Dataset:
    """One of the data sets shipped in ``resources/`` (see its README for provenance)."""
    require_choice(name, EMBEDDED_NAMES, "embedded data set")
    # found through the package, wherever and however it was installed
    shipped = importlib.resources.files("hillwalk.resources").joinpath(f"{name}.npz")
    with importlib.resources.as_file(shipped) as path, np.load(path, allow_pickle=False) as archive:
        provenance = json.loads(str(archive["provenance"]))
        provenance["steps"] = []
        return Dataset(archive["X"], archive["y"], tuple(archive["class_names"]),
                       tuple(archive["feature_names"]), provenance)


# --------------------------------------------------------------------------- synthetic sets

def make_spiral(arms=3, points_per_arm=100, noise=0.2, seed=0) -> Dataset:
    """The spiral of CS231n's neural-network case study: ``arms`` interleaved 2-D arms.

    Arm ``j`` has radius ``r`` from 0 to 1 and angle ``t = linspace(4j, 4(j+1)) +
    noise * randn``; the point is ``(r sin t, r cos t)``.
    """
    _check_count("arms", arms, 2)
    _check_count("points per arm", points_per_arm, 2)
    rng = random_generator(seed)
    X = np.zeros((arms * points_per_arm, 2))
    y = np.repeat(np.arange(arms), points_per_arm)
    radius = np.linspace(0.0, 1.0, points_per_arm)
    for arm in range(arms):
        angle = np.linspace(arm * 4.0, (arm + 1) * 4.0, points_per_arm) + rng.standard_normal(points_per_arm) * noise
        X[arm * points_per_arm:(arm + 1) * points_per_arm] = np.c_[radius * np.sin(angle), radius * np.cos(angle)]
    return _synthetic("spiral", X, y, arms, dict(arms=arms, points_per_arm=points_per_arm, noise=noise, seed=seed))


def make_blobs(classes=3, points_per_class=100, spread=0.6, seed=0) -> Dataset:
    """Isotropic Gaussian blobs (std ``spread``) centred on a circle of radius 2."""
    _check_count("classes", classes, 2)
    _check_count("points per class", points_per_class, 1)
    rng = random_generator(seed)
    angles = 2 * np.pi * np.arange(classes) / classes
    centers = 2.0 * np.c_[np.cos(angles), np.sin(angles)]
    y = np.repeat(np.arange(classes), points_per_class)
    X = centers[y] + spread * rng.standard_normal((y.size, 2))
    return _synthetic("blobs", X, y, classes, dict(classes=classes, points_per_class=points_per_class,
                                                  spread=spread, seed=seed))


def make_xor(points=200, noise=0.1, seed=0) -> Dataset:
    """Points uniform in [-1, 1]^2; class 1 where ``x1 * x2 > 0`` (before noise)."""
    _check_count("points", points, 4)
    rng = random_generator(seed)
    clean = rng.uniform(-1.0, 1.0, size=(points, 2))
    y = (clean[:, 0] * clean[:, 1] > 0).astype(np.int64)
    X = clean + noise * rng.standard_normal(clean.shape)
    return _synthetic("xor", X, y, 2, dict(points=points, noise=noise, seed=seed))


def make_circles(points=200, noise=0.05, factor=0.5, seed=0) -> Dataset:
    """Two concentric circles: class 0 of radius 1 outside, class 1 of radius ``factor``."""
    _check_count("points", points, 4)
    if not 0 < factor < 1:
        raise HillwalkError(f"circles: the inner radius factor must be between 0 and 1, got {factor}")
    rng = random_generator(seed)
    y = np.arange(points) % 2
    angle = rng.uniform(0, 2 * np.pi, points)
    radius = np.where(y == 0, 1.0, factor)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)] + noise * rng.standard_normal((points, 2))
    return _synthetic("circles", X, y, 2, dict(points=points, noise=noise, factor=factor, seed=seed))


SYNTHETIC_MAKERS = {"spiral": make_spiral, "blobs": make_blobs, "xor": make_xor, "circles": make_circles}


def random_generator(seed):
    """``numpy.random.default_rng(seed)`` for a seed in the range of ``problem.seed`` (a
    whole number from 0 to 2^31 - 1); anything else is a :class:`HillwalkError`, not
    NumPy's ValueError."""
    if isinstance(seed, np.integer):
        seed = int(seed)
    limits.check("problem.seed", seed)
    return np.random.default_rng(int(seed))


def _check_count(what, value, minimum):
    if int(value) != value or value < minimum:
        raise HillwalkError(f"the number of {what} must be a whole number >= {minimum}, got {value}")


def _synthetic(name, X, y, n_classes, parameters):
    provenance = {"name": name, "source": f"synthetic {name} ({_format_parameters(parameters)})",
                  "parameters": parameters, "licence": "generated by Hillwalk"}
    return Dataset(X, y, tuple(f"class {k}" for k in range(n_classes)), ("x1", "x2"), provenance)


def _format_parameters(parameters):
    return ", ".join(f"{k}={v}" for k, v in parameters.items())


# --------------------------------------------------------------------------- file loaders

def load_csv(path, label_column=None, header="auto") -> Dataset:
    """Load a CSV table: one example per row, numeric features, one label column.

    Parameters
    ----------
    path : str or Path
    label_column : str, int or None
        The label column by header name or by index (negative counts from the end);
        None means the last column.
    header : "auto", True or False
        "auto" treats the first row as a header when any of its feature cells is not a
        number.

    Labels may be strings or numbers; their sorted distinct values become classes
    ``0..C-1`` and the values themselves the class names. Labels that are all distinct
    (an identifier or a measurement in the label column) are refused, see
    :func:`require_usable_classes`.

    The file is read row by row into float64 features (blank lines skipped; messages give
    the file's line numbers); a file larger on disk than :data:`~core.limits.DATA_BUDGET_BYTES`
    is refused before it is opened, and one whose features outgrow it while being read
    (short numbers take more memory than text) is refused when they do.
    """
    path = _require_data_file(path, "CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _parse_csv(path, csv.reader(handle), label_column, header)
    except UnicodeDecodeError:
        raise HillwalkError(f"{path}: is not a text CSV file (could not decode it as UTF-8)") from None
    except (OSError, csv.Error) as error:
        raise HillwalkError(f"{path}: cannot read it as CSV ({error})") from None


def _require_data_file(path, what):
    """``path`` as a Path if it is a regular file no larger than the data budget."""
    path = Path(path)
    if not path.exists():
        raise HillwalkError(f"{path}: no such file; check the path")
    require_regular_file(path, what)
    size = path.stat().st_size
    if size > limits.DATA_BUDGET_BYTES:
        raise HillwalkError(f"{path}: the file is {limits.format_bytes(size)}, over the "
                            f"{limits.format_bytes(limits.DATA_BUDGET_BYTES)} budget for a data set; use a "
                            "sample of its rows")
    return path


def _parse_csv(path, reader, label_column, header):
    # (line number, fields) of every row with content; line numbers are the file's
    rows = ((reader.line_num, row) for row in reader if row and any(cell.strip() for cell in row))
    first = next(rows, None)
    if first is None:
        raise HillwalkError(f"{path}: the file is empty; it needs one example per line")
    first_line, first_row = first
    width = len(first_row)
    if width < 2:
        raise HillwalkError(f"{path}: needs at least two columns (features and a label), found {width}")
    names = None
    if header is True or (header == "auto" and not all(_is_number(c) for c in _drop(first_row, label_column, width))):
        names = [c.strip() for c in first_row]
    label_index = _resolve_label_column(path, label_column, names, width)
    feature_columns = [c for c in range(width) if c != label_index]
    max_values = limits.DATA_BUDGET_BYTES // 8

    values = array("d")          # the features, row after row
    lines = array("q")           # each example's line in the file
    raw_labels = []
    distinct_labels = {}         # one string object a label value: a million rows of "cat" share one
    for line, row in (rows if names is not None else itertools.chain([first], rows)):
        if len(row) != width:
            raise HillwalkError(f"{path}: line {line} has {len(row)} fields but line {first_line} has {width}; "
                                "every row needs the same number of comma-separated values")
        try:
            values.extend([float(row[c]) for c in feature_columns])
        except ValueError:
            c = next(c for c in feature_columns if not _is_number(row[c]))
            column_name = names[c] if names else f"column {c + 1}"
            raise HillwalkError(f"{path}: line {line}, {column_name}: {row[c].strip()!r} is not "
                                "a number; features must be numeric") from None
        if len(values) > max_values:
            raise HillwalkError(f"{path}: holds more than {max_values} feature values, over the "
                                f"{limits.format_bytes(limits.DATA_BUDGET_BYTES)} budget for a data set as "
                                "numbers; use a sample of its rows")
        label = row[label_index].strip()
        raw_labels.append(distinct_labels.setdefault(label, label))
        lines.append(line)
    if not raw_labels:
        raise HillwalkError(f"{path}: the file has a header but no data rows")

    X = np.frombuffer(values, dtype=np.float64).reshape(len(raw_labels), width - 1)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        r, k = bad[0]
        column_name = names[feature_columns[k]] if names else f"column {feature_columns[k] + 1}"
        raise HillwalkError(f"{path}: line {lines[r]}, {column_name} is NaN or infinite; "
                            "remove or fill in missing values")
    class_names, y = _encode_labels(raw_labels)
    feature_names = tuple(names[c] for c in feature_columns) if names else tuple(f"x{c + 1}" for c in feature_columns)
    provenance = {"name": path.stem, "source": str(path), "format": "csv",
                  "label_column": names[label_index] if names else label_index}
    return require_usable_classes(Dataset(X, y, class_names, feature_names, provenance))


def _drop(row, label_column, width):
    index = label_column if isinstance(label_column, int) else (width - 1 if label_column is None else None)
    if index is None:
        return row  # a named label column implies a header
    index = index % width if -width <= index < width else width - 1
    return [cell for c, cell in enumerate(row) if c != index]


def _resolve_label_column(path, label_column, names, width):
    if label_column is None:
        return width - 1
    if isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if names is None:
            raise HillwalkError(f"{path}: label column {label_column!r} was given by name but the file has no "
                                "header row; give its index instead")
        if label_column not in names:
            raise HillwalkError(f"{path}: no column named {label_column!r}; the columns are {', '.join(names)}")
        return names.index(label_column)
    index = int(label_column)
    if not -width <= index < width:
        raise HillwalkError(f"{path}: label column index {index} is out of range for {width} columns")
    return index % width


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _encode_labels(raw_labels):
    """Map label strings to 0..C-1; numeric labels sort numerically, others as text."""
    distinct = sorted(set(raw_labels))
    if all(_is_number(v) for v in distinct):
        distinct = sorted(distinct, key=float)
        if all(float(v).is_integer() for v in distinct):
            distinct_names = [str(int(float(v))) for v in distinct]
        else:
            distinct_names = distinct
    else:
        distinct_names = distinct
    index = {value: k for k, value in enumerate(distinct)}
    y = np.fromiter((index[v] for v in raw_labels), dtype=np.int64, count=len(raw_labels))
    return tuple(distinct_names), y


ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive's end record
NPY_SIGNATURE = b"\x93NUMPY"


def _require_zip_archive(path):
    """Raise a HillwalkError unless ``path`` starts like a ZIP archive (what an .npz is).

    ``numpy.load`` takes any file that is neither a ZIP nor an .npy for a pickle, so a
    damaged or mislabelled file would otherwise be reported as "pickled data"."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(NPY_SIGNATURE))
    except OSError as error:
        raise HillwalkError(f"{path}: cannot read the file ({error.strerror or error})") from None
    if head.startswith(ZIP_SIGNATURES):
        return
    if not head:
        raise HillwalkError(f"{path}: the file is empty; an .npz archive needs arrays 'X' and 'y' "
                            "(numpy.savez(path, X=X, y=y))")
    if head.startswith(NPY_SIGNATURE):
        raise HillwalkError(f"{path}: this is a single .npy array, not an .npz archive; save both arrays with "
                            "numpy.savez(path, X=X, y=y)")
    raise HillwalkError(f"{path}: not a readable .npz archive: the file is corrupt or of another kind (an .npz "
                        "is a ZIP of .npy arrays); save one with numpy.savez(path, X=X, y=y)")


NPZ_ARRAYS = ("X", "y", "class_names", "feature_names")
NPZ_HOW_TO_SAVE = "numpy.savez(path, X=X, y=y)"


def load_npz(path) -> Dataset:
    """Load ``X`` (N x D) and ``y`` (N labels) from an ``.npz`` archive.

    Optional arrays ``class_names`` and ``feature_names`` are used when present.

    Labels: with ``class_names`` (C names), ``y`` holds class numbers ``0..C-1``. Without,
    ``y`` holds whole numbers of any size (-1 and 1, or 0 and 10^9): labels that are
    already ``0..C-1`` are the classes; others are renumbered ``0..C-1`` in increasing
    order (``numpy.unique``), each class named by its label, and the renumbering is
    recorded in ``provenance["label_mapping"]`` (shown by :meth:`Dataset.summary`), so a
    label of 10^9 makes one class, not 10^9. Labels that are not whole numbers are refused,
    and so are labels that are all distinct (:func:`require_usable_classes`).

    Before any array is read, the members ``X``, ``y``, ``class_names`` and
    ``feature_names`` are checked: each must be a real ``.npy`` array (object arrays stay
    refused: unpickling can run code), and neither a member's uncompressed size in the
    zip header nor its ``.npy`` header's shape x item size (for ``X``, as float64) may
    exceed :data:`~core.limits.DATA_BUDGET_BYTES`, alone or together.
    """
    path = _require_data_file(path, "NumPy .npz file")
    _require_zip_archive(path)
    try:
        _check_npz_members(path)
        # Our own handle: numpy leaves the file open when the ZIP directory is unreadable.
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            missing = [k for k in ("X", "y") if k not in archive.files]
            if missing:
                raise HillwalkError(f"{path}: the archive lacks array(s) {', '.join(missing)}; it needs 'X' "
                                    f"(examples x features) and 'y' (labels); it has {', '.join(archive.files) or 'none'}")
            X, y = archive["X"], archive["y"]
            class_names = tuple(archive["class_names"]) if "class_names" in archive.files else None
            feature_names = tuple(archive["feature_names"]) if "feature_names" in archive.files else None
    except HillwalkError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error):  # an object array inside a genuine archive
            raise _object_arrays_refused(path) from None
        raise HillwalkError(f"{path}: the .npz archive is corrupt ({error}); save it again with "
                            f"{NPZ_HOW_TO_SAVE}") from None
    except Exception as error:  # zipfile and format errors differ between NumPy versions
        raise HillwalkError(f"{path}: the .npz archive is corrupt ({type(error).__name__}: {error}); save it "
                            f"again with {NPZ_HOW_TO_SAVE}") from None
    provenance = {"name": path.stem, "source": str(path), "format": "npz"}
    y_array = np.asarray(y)
    if class_names is None:
        y_array, class_names, mapping = _classes_from_labels(y_array, str(path))
        if mapping:
            provenance["label_mapping"] = mapping
    X_array = np.asarray(X)
    if feature_names is None:
        width = X_array.shape[1] if X_array.ndim == 2 else 0
        feature_names = tuple(f"x{k + 1}" for k in range(width))
    if X_array.ndim == 2 and len(feature_names) != X_array.shape[1]:
        feature_names = tuple(f"x{k + 1}" for k in range(X_array.shape[1]))
    if X_array.ndim == 2 and X_array.dtype.kind in "biuf":
        # the arrays were just read from the file: the data set takes them, converted once
        # into float64 with room for the bias column (see add_bias)
        X_array = _with_bias_room(X_array, source=str(path))
        return require_usable_classes(Dataset(X_array, y_array, class_names, feature_names, provenance, copy=False))
    return require_usable_classes(Dataset(X_array, y_array, class_names, feature_names, provenance))


def _object_arrays_refused(path):
    return HillwalkError(f"{path}: the archive holds object arrays (pickled Python data), which Hillwalk does not "
                         f"load because unpickling can run code; save plain numeric arrays with {NPZ_HOW_TO_SAVE}")


def _check_npz_members(path):
    """Refuse, before reading them, the arrays of the archive at ``path`` that load_npz
    would read if they are not plain ``.npy`` arrays or declare more than the data budget
    (see :func:`load_npz`). Zip and header errors propagate for the caller to report."""
    budget = limits.DATA_BUDGET_BYTES
    over = f"over the {limits.format_bytes(budget)} budget for a data set; use a smaller data set (fewer examples)"
    total = 0
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: info for info in archive.infolist()}
        for key in NPZ_ARRAYS:
            info = members.get(key) or members.get(key + ".npy")  # the member numpy.load reads for key
            if info is None:
                continue
            if info.file_size > budget:
                raise HillwalkError(f"{path}: member {info.filename} declares {limits.format_bytes(info.file_size)} "
                                    f"uncompressed, {over}")
            with archive.open(info) as member:
                try:
                    version = np.lib.format.read_magic(member)
                except ValueError:
                    raise HillwalkError(f"{path}: member {info.filename} is not a .npy array: the archive is "
                                        "corrupt or was not written by numpy.savez; save it again with "
                                        f"{NPZ_HOW_TO_SAVE}") from None
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    raise HillwalkError(f"{path}: member {info.filename} is a .npy array of format version "
                                        f"{version[0]}.{version[1]}, which Hillwalk does not read; save it again "
                                        f"with {NPZ_HOW_TO_SAVE}")
            if dtype.hasobject:
                raise _object_arrays_refused(path)
            count = math.prod(shape)
            size = count * max(dtype.itemsize, 8 if key == "X" else 0)  # X is read, then made float64
            if size > budget:
                raise HillwalkError(f"{path}: {info.filename} declares an array of {' x '.join(map(str, shape))} "
                                    f"{dtype} ({limits.format_bytes(size)}), {over}")
            total += size
    if total > budget:
        raise HillwalkError(f"{path}: its arrays declare {limits.format_bytes(total)} together, {over}")


def _classes_from_labels(y, source):
    """Classes of whole-number labels ``y`` (N,) given without class names.

    Returns
    -------
    y : int64 array, shape (N,), in ``0..C-1``
    class_names : tuple of str, length C
    mapping : str or None
        How labels were renumbered (None when they already were ``0..C-1``).

    Labels that cannot be classes (not 1-D, empty, not numbers) come back as they are,
    for :func:`validate_arrays` to report.
    """
    if y.ndim != 1 or y.size == 0 or y.dtype.kind not in "iubf":
        return y, ("0", "1"), None
    if y.dtype.kind == "f":
        _require_whole_labels(y, source)
    values = np.unique(y)  # sorted and distinct: 0..C-1 exactly when it starts at 0 and ends at C-1
    if values[0] == 0 and values[-1] == values.size - 1:
        return y.astype(np.int64), tuple(str(k) for k in range(values.size)), None
    names = tuple(_label_name(v) for v in values)
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    mapping = f"labels {shown} renumbered as classes 0..{len(names) - 1} in increasing order"
    return np.searchsorted(values, y).astype(np.int64), names, mapping


def _label_name(value):
    """A label's text: '1000000000' for 1e9 (float or int), '1e+300' beyond exact integers."""
    if isinstance(value, (np.floating, float)) and abs(value) >= 2 ** 53:
        return f"{value:g}"
    return str(int(value))


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and NumPy arrays, and nothing else, so a
    malicious 'CIFAR batch' cannot run code."""

    _allowed = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _load_cifar_pickle(path):
    try:
        with open(path, "rb") as handle:
            content = _ArrayOnlyUnpickler(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
            IndexError, KeyError, OSError) as error:
        raise HillwalkError(f"{path}: not a CIFAR-10 python-version batch file ({error or type(error).__name__})") from None
    if not isinstance(content, dict):
        raise HillwalkError(f"{path}: expected a pickled dict, found {type(content).__name__}")
    return {(k.decode("latin-1") if isinstance(k, bytes) else k): v for k, v in content.items()}


def load_cifar10(folder, batches=CIFAR_TRAIN_BATCHES, subsample=None, seed=0) -> Dataset:
    """Load the CIFAR-10 "python version" folder (``data_batch_1..5``, ``test_batch``,
    ``batches.meta``).

    Parameters
    ----------
    folder : str or Path
    batches : sequence of str
        Batch files to concatenate (default: the five training batches).
    subsample : int or None
        Keep this many examples, drawn without replacement with ``seed``.

    Returns
    -------
    Dataset with X of shape (N, 3072), float64 pixel values 0..255 (channels R, G, B, each
    32 x 32 row-major, as stored), and 10 classes named from ``batches.meta``.

    Every file must be a regular file (a named pipe or a device is refused unopened); the
    batches' size on disk (about their pixels' size) and the float64 features kept after
    ``subsample`` must each fit :data:`~core.limits.DATA_BUDGET_BYTES`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise HillwalkError(f"{folder}: no such folder; point at the unpacked 'cifar-10-batches-py' folder")
    wanted = list(batches) + ["batches.meta"]
    missing = [name for name in wanted if not (folder / name).exists()]
    if missing:
        raise HillwalkError(f"{folder}: missing CIFAR-10 file(s) {', '.join(missing)}; the folder must hold "
                            "data_batch_1..5, test_batch and batches.meta from the python version")
    for name in wanted:
        require_regular_file(folder / name, "CIFAR-10 batch file")
    budget = limits.DATA_BUDGET_BYTES
    on_disk = sum((folder / name).stat().st_size for name in batches)
    if on_disk > budget:
        raise HillwalkError(f"{folder}: the batch files take {limits.format_bytes(on_disk)}, over the "
                            f"{limits.format_bytes(budget)} budget for a data set; load fewer batches")
    meta = _load_cifar_pickle(folder / "batches.meta")
    label_names = meta.get("label_names")
    if not isinstance(label_names, (list, tuple)) or len(label_names) != 10:
        raise HillwalkError(f"{folder / 'batches.meta'}: 'label_names' must list the 10 class names")
    class_names = tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in label_names)

    parts_X, parts_y = [], []
    for name in batches:
        content = _load_cifar_pickle(folder / name)
        data, labels = content.get("data"), content.get("labels")
        if not isinstance(data, np.ndarray) or labels is None:
            raise HillwalkError(f"{folder / name}: a batch needs 'data' (N x 3072 uint8 array) and 'labels'")
        labels = np.asarray(labels)
        if data.ndim != 2 or data.shape[1] != CIFAR_FEATURES or data.dtype != np.uint8:
            raise HillwalkError(f"{folder / name}: 'data' must be an N x 3072 uint8 array, got shape "
                                f"{data.shape} of {data.dtype}")
        if labels.shape != (data.shape[0],):
            raise HillwalkError(f"{folder / name}: {data.shape[0]} images but {labels.size} labels")
        parts_X.append(data)
        parts_y.append(labels)
    X_raw = np.concatenate(parts_X)
    y = np.concatenate(parts_y)
    steps = []
    if subsample is not None:
        if int(subsample) != subsample or not 2 <= subsample:
            raise HillwalkError(f"CIFAR-10 subsample must be a whole number >= 2, got {subsample}")
        if subsample < X_raw.shape[0]:
            keep = np.sort(random_generator(seed).choice(X_raw.shape[0], int(subsample), replace=False))
            steps.append(f"random subsample of {subsample} from {X_raw.shape[0]} (seed {seed})")
            X_raw, y = X_raw[keep], y[keep]
    as_float = X_raw.shape[0] * CIFAR_FEATURES * 8
    if as_float > budget:
        raise HillwalkError(f"{folder}: {X_raw.shape[0]} images as float64 features take "
                            f"{limits.format_bytes(as_float)}, over the {limits.format_bytes(budget)} budget for a "
                            f"data set; choose a subsample of at most {budget // (CIFAR_FEATURES * 8)} images")
    channels = ("r", "g", "b")
    feature_names = tuple(f"{channels[k // 1024]}_{(k % 1024) // 32}_{k % 32}" for k in range(CIFAR_FEATURES))
    provenance = {"name": "cifar10", "source": str(folder), "format": "cifar10-python",
                  "batches": list(batches), "licence": "CIFAR-10 (Krizhevsky 2009); see its site for terms",
                  "steps": steps}
    return require_two_classes(Dataset(_with_bias_room(X_raw, source=str(folder)), y, class_names, feature_names, provenance,
                                       copy=False))


def load_dataset(spec: str, seed: int = 0, **options) -> Dataset:
    """Resolve what a user typed: an embedded name, a synthetic name, or a path.

    Paths: a folder is read as CIFAR-10, ``.csv`` as CSV, ``.npz`` as NPZ. ``options``
    go to the loader or maker (``subsample`` for CIFAR-10, ``label_column`` and ``header``
    for CSV, the maker's parameters for synthetic sets); an option the chosen source does
    not take is an error, not silently ignored.
    """
    spec = str(spec)
    if spec in EMBEDDED_NAMES:
        kind, loader = "embedded data set", lambda: load_embedded(spec)
        accepted = ()
    elif spec in SYNTHETIC_NAMES:
        maker = SYNTHETIC_MAKERS[spec]
        accepted = tuple(maker.__code__.co_varnames[:maker.__code__.co_argcount])
        kind, loader = f"synthetic set {spec}", lambda: maker(**{"seed": seed, **options})
    else:
        path = Path(spec)
        suffix = path.suffix.lower()
        if path.is_dir():
            accepted, kind = ("subsample", "batches"), "CIFAR-10 folder"
            loader = lambda: load_cifar10(path, seed=seed, **options)  # noqa: E731
        elif suffix == ".csv":
            accepted, kind = ("label_column", "header"), "CSV file"
            loader = lambda: load_csv(path, **options)  # noqa: E731
        elif suffix == ".npz":
            accepted, kind, loader = (), "NPZ file", lambda: load_npz(path)
        elif not path.exists():
            raise HillwalkError(f"unknown data set {spec!r}: not one of "
                                f"{', '.join(EMBEDDED_NAMES + SYNTHETIC_NAMES)} and no such file or folder")
        else:
            raise HillwalkError(f"{spec}: unsupported file type {suffix or '(none)'}; use .csv, .npz or a "
                                "CIFAR-10 folder")
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        article = "an" if kind[0] in "aeiouN" else "a"   # (an NPZ file, an embedded data set)
        taken = [a.replace("_", " ") for a in accepted if a != "seed"]
        raise HillwalkError(f"{', '.join(u.replace('_', ' ') for u in unknown)} "
                            f"{'does' if len(unknown) == 1 else 'do'} not apply to {article} {kind}"
                            + (f"; it takes {', '.join(taken)}" if taken else "; leave the option out"))
    return loader()


# --------------------------------------------------------------------------- preprocessing

# The largest feature magnitude a model is given, after preprocessing. A training step
# multiplies a feature by another through the weights (scores ~ lr * |x|^2 * D), and the
# landscape and the penalty square the weights; at 1e100 these stay far below float64's
# 1.8e308, while values near 1e150 would already overflow in a few steps.
MAX_FEATURE_MAGNITUDE = 1e100

PREPROCESSING_STEPS = {"center": "zero-centre (training mean)", "standardize": "standardize (training mean and std)",
                       "minmax": "scale to [0, 1] (training min and max)"}
_PREPROCESSING_VERBS = {"center": "zero-centre", "standardize": "standardize", "minmax": "scale to [0, 1]"}


@dataclass(frozen=True)
class Preprocessor:
    """A feature transform fitted on training data and applied to any split.

    ``X' = (X - offset) / scale`` with arrays of shape (D,).
    """

    method: str
    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X, method: str, source: str = "data") -> "Preprocessor":
        """Fit on X (N x D). Constant features get scale 1 so they map to 0, not NaN.

        Statistics that overflow float64 (a mean of values near 1e308, a standard deviation
        of values near 1e300 whose squares overflow, the span of values near -+1e308) are
        refused with a :class:`HillwalkError` that names ``source``, without a NumPy warning.
        """
        require_choice(method, PREPROCESSING_METHODS, "preprocessing")
        D = X.shape[1]
        offset, scale = np.zeros(D), np.ones(D)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below, in words
            if method == "center":
                offset = X.mean(axis=0)
            elif method == "standardize":
                offset = X.mean(axis=0)
                std = _column_std(X, offset)
                scale = np.where(std > 0, std, 1.0)
            elif method == "minmax":
                offset = X.min(axis=0)
                span = X.max(axis=0) - offset
                scale = np.where(span > 0, span, 1.0)
        if not (np.all(np.isfinite(offset)) and np.all(np.isfinite(scale))):
            raise _too_large_to(method, X, source)
        return cls(method, offset, scale)

    def apply(self, data: Dataset, in_place: bool = False) -> Dataset:
        """``data`` with its features transformed (a new step in its provenance).

        ``in_place``: transform ``data``'s own X array instead of a new one (for a data
        set nobody else holds, fresh from :func:`train_val_split`: a large set is then
        never twice in memory); ``data`` must not be used afterwards. An X that is a view
        of another array is transformed into a new one all the same."""
        if self.method == "none":
            return data
        X = data.X
        owned = in_place and (X.flags.owndata or (isinstance(X.base, np.ndarray) and X.base.flags.owndata))
        if owned:
            try:
                X.setflags(write=True)
            except ValueError:   # its storage is read-only already (a model uses it): not ours to change
                owned = False
        # for the message if the transform overflows (an in-place one overwrites X)
        largest = max(float(X.max()), -float(X.min())) if owned else None
        with np.errstate(over="ignore", invalid="ignore"):
            if owned:
                X -= self.offset
            else:
                X = np.subtract(X, self.offset)
            X /= self.scale
        if not np.all(np.isfinite(X)):
            raise _too_large_to(self.method, data.X, data.origin, largest)
        return data.with_step(X, data.y, PREPROCESSING_STEPS[self.method], copy=False)


def _column_std(X, mean, temporary_bytes=8 * 2 ** 20):
    """``X.std(axis=0)`` for X (N, D) and its column means, bit for bit, without an N x D
    temporary when that would exceed ``temporary_bytes``: the squared deviations are
    formed a block of rows at a time and added row after row, the order of NumPy's own
    reduction over axis 0."""
    if X.size * 8 <= temporary_bytes:
        return X.std(axis=0)
    total, rows = np.zeros(X.shape[1]), _block_rows(X)   # 0 + the first row is the first row
    for start in range(0, X.shape[0], rows):
        squares = X[start:start + rows] - mean
        squares *= squares
        for k in range(squares.shape[0]):
            total += squares[k]
        del squares   # before the next block is made (no view of it is left)
    return np.sqrt(total / X.shape[0])


def _power_of_ten_below(value: float) -> float:
    return 10.0 ** math.floor(math.log10(value)) if value > 0 else 1.0


def _too_large_to(method, X, source, largest=None):
    largest = float(np.max(np.abs(X))) if largest is None else largest
    return HillwalkError(f"{source}: the features are too large to {_PREPROCESSING_VERBS[method]}: values up to "
                         f"{largest:.3g} overflow its arithmetic; rescale the data, e.g. divide it by "
                         f"{_power_of_ten_below(largest):g}")


def require_safe_features(data: Dataset) -> Dataset:
    """``data`` unchanged if no feature exceeds :data:`MAX_FEATURE_MAGNITUDE` in magnitude
    (the models' arithmetic stays finite); otherwise a :class:`HillwalkError` that says how
    large they are and after which step."""
    largest = max(float(data.X.max()), -float(data.X.min()))   # max |X| without an N x D temporary
    if largest > MAX_FEATURE_MAGNITUDE:
        steps = data.provenance.get("steps", [])
        after = [s for s in steps if s in PREPROCESSING_STEPS.values()]
        when = f"after {after[-1].split(' (')[0]}" if after else "without preprocessing"
        raise HillwalkError(f"{data.origin}: the features are too large for the models: {when} they reach "
                            f"{largest:.3g}, and beyond {MAX_FEATURE_MAGNITUDE:g} the loss and its gradient overflow; "
                            f"rescale the data, e.g. divide it by {_power_of_ten_below(largest):g}")
    return data


def add_bias(X):
    """The bias trick: append a constant-1 feature. (N, D) -> (N, D + 1).

    X as :func:`train_val_split` stores it (the first D columns of an (N, D + 1) array
    whose last column is 1) gives that array itself, read-only, instead of a copy: a large
    training set is then in memory once, not twice."""
    X = np.asarray(X, dtype=np.float64)
    storage = _bias_room(X)
    if storage is not None:
        with_bias = storage[:X.shape[0]]
        with_bias.setflags(write=False)
        return with_bias
    return np.hstack([X, np.ones((X.shape[0], 1))])


def _bias_room(X):
    """The array X is stored in when X (n, D) is the first n rows and D columns of an
    array with D + 1 columns whose last column is 1 (as the loaders and the split store
    the data); else None."""
    base = X.base
    if (isinstance(base, np.ndarray) and base.dtype == np.float64 and base.ndim == 2 and X.ndim == 2
            and base.shape[1] == X.shape[1] + 1 and base.shape[0] >= X.shape[0] and X.strides == base.strides
            and X.ctypes.data == base.ctypes.data and np.all(base[:X.shape[0], -1] == 1.0)):
        return base
    return None


def _with_bias_room(X, rows=None, source="data"):
    """``X[rows]`` (all rows when None) of any real dtype, as float64 in the first D columns
    of a fresh (n, D + 1) array whose last column is 1 (see :func:`add_bias`); returns the
    (n, D) view. Converted a block of rows at a time: no second n x D array, and ``take``
    into a strided output would buffer the whole result."""
    X = np.asarray(X)
    count = X.shape[0] if rows is None else rows.size
    storage = np.empty((count, X.shape[1] + 1))
    step = _block_rows(X)
    with np.errstate(over="raise", invalid="raise"):
        try:
            for start in range(0, count, step):
                block = slice(start, start + step) if rows is None else rows[start:start + step]
                storage[start:start + step, :-1] = X[block]
        except FloatingPointError:   # a longdouble beyond float64's range
            raise HillwalkError(f"{source}: some features are too large for 64-bit floats (beyond 1.8e308); "
                                "rescale them") from None
    storage[:, -1] = 1.0
    return storage[:, :-1]


def train_val_split(data: Dataset, val_fraction=0.2, seed=0, in_place=False):
    """Split into (train, val) at random with ``seed``; ``val`` is None for fraction 0.

    Stratified: class k of ``n_k`` examples gives ``round(val_fraction * n_k)`` of them,
    but at least one, to the validation part, so every class is represented on both
    sides. A class that cannot be (a single example, or a share that would hold out all
    of its examples) is refused with a :class:`HillwalkError` naming the class and the
    share that would work. Classes without any example (named, but absent from ``y``)
    are on neither side.

    The parts keep the examples' order. ``in_place``: ``data`` is the caller's own and
    used no more (see ``prepare_splits``), and its X has room for the bias column: the
    validation rows are copied out, the training rows moved to the front of the same
    storage, and the training part is a view of it; else both parts are copies.
    """
    if not 0 <= val_fraction < 1 or not math.isfinite(val_fraction):
        raise HillwalkError(f"the validation fraction must be in [0, 1), got {val_fraction}")
    rng = random_generator(seed)
    if val_fraction == 0:
        return data, None
    counts = np.bincount(data.y, minlength=data.n_classes)
    takes = np.where(counts > 0, np.maximum(np.round(val_fraction * counts), 1), 0).astype(int)
    short = np.flatnonzero(takes >= counts)
    short = short[counts[short] > 0]
    if short.size:
        k = min(short, key=lambda c: counts[c])
        name, count = data.class_names[k], int(counts[k])
        if count == 1:
            raise HillwalkError(f"{data.origin}: class {name!r} has a single example, which cannot be both in "
                                f"training and in validation (validation share {val_fraction:g}); set the "
                                "validation share to 0, or add examples of that class")
        smallest = counts[counts > 0].min()  # >= 2 here: a single example was refused above
        largest = min(math.floor((1 - 1 / smallest) * 100) / 100, limits.RANGES["problem.val_fraction"].high)
        raise HillwalkError(f"{data.origin}: a validation share of {val_fraction:g} would hold out all {count} "
                            f"examples of class {name!r}, and every class needs a training example; choose a "
                            f"validation share of at most {largest:g}")
    val_index = []
    for k in range(data.n_classes):
        members = np.flatnonzero(data.y == k)
        val_index.extend(rng.choice(members, takes[k], replace=False).tolist())
    val_mask = np.zeros(data.n_examples, dtype=bool)
    val_mask[val_index] = True
    step = f"split {int((~val_mask).sum())} train / {int(val_mask.sum())} validation (seed {seed})"
    train_rows = np.flatnonzero(~val_mask)
    val_X = _with_bias_room(data.X, np.flatnonzero(val_mask))
    storage = _bias_room(data.X) if in_place else None
    if storage is not None and storage.flags.owndata:
        storage.setflags(write=True)
        # rows move forward only (train_rows[k] >= k), a block at a time, each block read
        # whole before it is written: no row is overwritten before it has moved
        per_block = _block_rows(storage)
        for start in range(0, train_rows.size, per_block):
            block = train_rows[start:start + per_block]
            storage[start:start + block.size] = storage[block]
        train_X = storage[:train_rows.size, :-1]
    else:
        train_X = _with_bias_room(data.X, train_rows)
    train = data.with_step(train_X, data.y[~val_mask], step + ": train part", copy=False)
    val = data.with_step(val_X, data.y[val_mask], step + ": validation part", copy=False)
    return train, val
