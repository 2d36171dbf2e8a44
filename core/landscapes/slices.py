"""A loss slice described by plain settings, and computed from them.

:class:`SliceSpec` is shared by the command line (``render``), the GUI and session files.
Seeds: the initial weights use ``seed``, the random directions ``seed + 1``.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..errors import HillwalkError, require_choice
from ..limits import check, check_numbers
from ..models.regularizers import REGULARIZER_KINDS
from .centers import train_full_batch
from .directions import (
    BIAS_MODES,
    coordinate_plane,
    gradient_plane,
    hessian_plane,
    interpolation_line,
    pca_plane,
    random_plane,
)
from .landscape import DEFAULT_BUDGET_BYTES, Component, compute_slice, iter_slice, make_axis

CENTERS = ("init", "trained")
# How a slice evaluates a network with batch norm: with the centre's running statistics
# (evaluation mode) or with the batch statistics of the full training data at every point.
BN_MODES = ("eval", "train")
# How a slice evaluates a network with dropout: without it (evaluation), with one fixed
# mask, or as the mean over K masks ("mean:K").
DROPOUT_SLICE_MODES = ("off", "fixed", "mean:K")
DIRECTION_CHOICES = ("gaussian", "filter", "layer", "model", "gradient", "pca", "coords", "interpolate", "hessian",
                     "minmax")


@dataclass(frozen=True)
class CenterRegularization:
    """The regularization a slice's centre and directions were found under, where it is
    not the problem's: the app keeps the plane when only the regularization changes (the
    new lambda's slice on the same plane, the centre kept), so a session saved then records
    the old settings here, and opening it finds the same plane again.

    Attributes are those of :class:`~core.models.problem.ClassifierSpec`: ``regularizer``
    (one of REGULARIZER_KINDS), ``lam``, ``beta`` and ``regularize_bias``.
    """

    regularizer: str
    lam: float
    beta: float
    regularize_bias: bool

    def __post_init__(self):
        require_choice(self.regularizer, REGULARIZER_KINDS, "regularizer")
        for name in ("lam", "beta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise HillwalkError(f"the centre's regularization: {name} must be a number, got {value!r}")
            check(f"problem.{name}", value)
            object.__setattr__(self, name, float(value))
        if not isinstance(self.regularize_bias, bool):
            raise HillwalkError(f"the centre's regularization: regularize_bias must be true or false, got "
                                f"{self.regularize_bias!r}")

    @classmethod
    def of(cls, problem) -> "CenterRegularization":
        """A problem's (a ClassifierSpec) regularization settings."""
        return cls(problem.regularizer, problem.lam, problem.beta, problem.regularize_bias)

    @classmethod
    def from_dict(cls, data, where="slice.center_regularization") -> "CenterRegularization":
        if not isinstance(data, dict):
            raise HillwalkError(f"{where} must be an object with regularizer, lam, beta and regularize_bias")
        names = ("regularizer", "lam", "beta", "regularize_bias")
        if set(data) != set(names):
            raise HillwalkError(f"{where} must have exactly regularizer, lam, beta and regularize_bias, got "
                                f"{', '.join(sorted(map(str, data))) or 'nothing'}")
        try:
            return cls(**{name: data[name] for name in names})
        except HillwalkError as error:
            raise HillwalkError(f"{where}: {error}") from None

    @classmethod
    def record(cls, found_under, problem) -> "CenterRegularization | None":
        """What a slice records for a plane found under ``found_under`` (a
        CenterRegularization) when the problem is ``problem``: None where they agree."""
        return None if found_under == cls.of(problem) else found_under

    def applied_to(self, problem):
        """``problem`` (a ClassifierSpec) with these regularization settings."""
        return replace(problem, regularizer=self.regularizer, lam=self.lam, beta=self.beta,
                       regularize_bias=self.regularize_bias)


# a centre point's label is a short description ("SGD, lr 0.02 at step 120")
MAX_CENTER_LABEL_CHARS = 200


@dataclass(frozen=True)
class CenterPoint:
    """A slice centred on given parameters (the window's "position of a method at the
    current step") rather than on the initial or trained weights: a session records them
    here, so that it opens on the same plane.

    Attributes
    ----------
    label : str
        What the point is, shown as the centre ("SGD, lr 0.02 at step 120").
    size : int
        How many parameters.
    values : str
        The parameters, flattened in C order, as little-endian float64 bytes in base64
        (exact, and about half the size of the numbers written out as text).
    method : int or None
        The index, in the session's optimizers, of the method whose position it was (the
        window offers it again as that method's position); None if unknown.
    """

    label: str
    size: int
    values: str
    method: int | None = None

    def __post_init__(self):
        if not isinstance(self.label, str) or len(self.label) > MAX_CENTER_LABEL_CHARS:
            raise HillwalkError(f"the centre point's label must be text of at most {MAX_CENTER_LABEL_CHARS} "
                                f"characters")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise HillwalkError(f"the centre point's size must be a whole number >= 1, got {self.size!r}")
        if self.method is not None and (isinstance(self.method, bool) or not isinstance(self.method, int)
                                        or self.method < 0):
            raise HillwalkError(f"the centre point's method must be an optimizer's index (>= 0) or null, got "
                                f"{self.method!r}")
        self.theta()   # (the values decode to size finite numbers, or the message says what is wrong)

    @classmethod
    def of(cls, label, theta, method=None) -> "CenterPoint":
        """The point ``theta`` (an array of any shape) under ``label``."""
        flat = np.ascontiguousarray(np.asarray(theta, dtype=np.float64).ravel(), dtype="<f8")
        return cls(str(label)[:MAX_CENTER_LABEL_CHARS], int(flat.size), base64.b64encode(flat.tobytes()).decode("ascii"),
                   method)

    @classmethod
    def from_dict(cls, data, where="slice.center_point") -> "CenterPoint":
        if not isinstance(data, dict):
            raise HillwalkError(f"{where} must be an object with label, size, values and method")
        unknown = set(data) - {"label", "size", "values", "method"}
        missing = {"label", "size", "values"} - set(data)
        if unknown or missing:
            raise HillwalkError(f"{where} must have label, size, values and (optionally) method; "
                                + (f"unknown: {', '.join(sorted(map(str, unknown)))}" if unknown else
                                   f"missing: {', '.join(sorted(missing))}"))
        try:
            return cls(data["label"], data["size"], data["values"], data.get("method"))
        except HillwalkError as error:
            raise HillwalkError(f"{where}: {error}") from None

    def theta(self) -> np.ndarray:
        """The parameters, flat (size,), float64 (a new array)."""
        if not isinstance(self.values, str):
            raise HillwalkError("the centre point's values must be base64 text")
        try:
            raw = base64.b64decode(self.values.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise HillwalkError("the centre point's values are not base64 text (little-endian float64 numbers)") \
                from None
        if len(raw) != 8 * self.size:
            raise HillwalkError(f"the centre point's values hold {len(raw) / 8:g} numbers, not its size {self.size}")
        theta = np.frombuffer(raw, dtype="<f8").astype(np.float64)
        if not np.all(np.isfinite(theta)):
            raise HillwalkError("the centre point's values hold NaN or infinite numbers")
        return theta


@dataclass(frozen=True)
class SliceSpec:
    """Settings of a cut or slice.

    Attributes
    ----------
    center : {"init", "trained"}
        The initial weights ``init_scale * randn`` (seed ``seed``), or those weights
        after ``train_steps`` steps of full-batch gradient descent.
    directions : one of DIRECTION_CHOICES
        ``gaussian`` (raw), ``filter``/``layer``/``model`` (normalized Gaussian),
        ``gradient`` (negative gradient, filter-normalized, and a Gaussian), ``hessian``
        (the Hessian's top two eigenvectors at the centre), ``minmax`` (its largest- and
        smallest-eigenvalue eigenvectors), ``pca``
        (of the training trajectory; needs a trained centre), ``coords`` (the parameters
        ``coords``), ``interpolate`` (the line from the initial to the trained weights;
        a cut).
    orthogonalize : bool
    biases : {"zero", "keep"}
        Networks: whether random and gradient directions zero the biases or keep them
        (see :func:`core.landscapes.directions.normalize`); recorded in the plane's info.
    coords : tuple of 4 ints
        (row1, col1, row2, col2) of W for ``coords`` (of W1 for a network).
    grid : int
        Points per axis.
    cut : bool
        A 1-D cut along the first direction.
    alpha_range, beta_range : (low, high)
    component : str
        total, data, reg, accuracy or example:K.
    bn_mode : {"eval", "train"}
        Networks with batch norm: "eval" normalizes every point of the slice with the
        running statistics of the centre (each layer's mean and variance over the full
        training data at the centre: one deterministic function of the weights); "train"
        normalizes every point with the batch statistics of the full training data at that
        point. Without batch norm it changes nothing.
    dropout_mode : "off", "fixed" or "mean:K"
        Networks with dropout: "off" evaluates without dropout; "fixed" with one mask
        (per training example and layer) drawn from the problem's seed; "mean:K" averages
        the loss over K such masks (K from 2 to 100). Without dropout it changes nothing.
    center_regularization : CenterRegularization or None
        The regularization the centre and directions are found under where it is not the
        problem's (see :class:`CenterRegularization`; a JSON object in a session); None:
        the problem's own. Honoured by :func:`core.experiment.build_plane`.
    center_point : CenterPoint or None
        Parameters to centre on instead of ``center``'s (a method's position; a JSON object
        in a session); None: ``center``'s. Honoured by :func:`core.experiment.build_plane`.
    """

    center: str = "trained"
    train_steps: int = 300
    init_scale: float = 1e-3
    directions: str = "filter"
    orthogonalize: bool = False
    biases: str = "zero"
    coords: tuple = (0, 0, 1, 0)
    grid: int = 101
    cut: bool = False
    alpha_range: tuple = (-1.0, 1.0)
    beta_range: tuple = (-1.0, 1.0)
    component: str = "total"
    seed: int = 0
    budget_mb: float = DEFAULT_BUDGET_BYTES / 2 ** 20
    bn_mode: str = "eval"
    dropout_mode: str = "off"
    center_regularization: CenterRegularization | None = None
    center_point: CenterPoint | None = None

    def __post_init__(self):
        if self.center_regularization is not None and not isinstance(self.center_regularization,
                                                                     CenterRegularization):
            object.__setattr__(self, "center_regularization", CenterRegularization.from_dict(self.center_regularization))
        if self.center_point is not None and not isinstance(self.center_point, CenterPoint):
            object.__setattr__(self, "center_point", CenterPoint.from_dict(self.center_point))
        require_choice(self.bn_mode, BN_MODES, "batch-norm mode of the slice")
        object.__setattr__(self, "dropout_mode", check_dropout_mode(self.dropout_mode))
        if self.center not in CENTERS:
            raise HillwalkError(f"unknown centre {self.center!r}; choose init or trained")
        require_choice(self.directions, DIRECTION_CHOICES, "directions")
        require_choice(self.biases, BIAS_MODES, "bias handling")
        if self.directions == "pca" and self.center != "trained":
            raise HillwalkError("PCA directions come from the training trajectory: use a trained centre")
        check("slice.init_scale", self.init_scale)
        check("slice.train_steps", self.train_steps)
        check("slice.budget_mb", self.budget_mb)
        check("slice.grid", self.grid)
        check("slice.seed", self.seed)
        check_numbers("slice.coord", self.coords, "coords", "(row1, col1, row2, col2)")
        for name in ("alpha_range", "beta_range"):
            check_numbers("slice.range_end", getattr(self, name), name, "(low, high)")
        Component.parse(self.component)
        self.alpha_axis()
        if not self.is_cut:
            self.beta_axis()

    @property
    def is_cut(self) -> bool:
        return self.cut or self.directions == "interpolate"

    def alpha_axis(self):
        return make_axis(float(self.alpha_range[0]), float(self.alpha_range[1]), int(self.grid))

    def beta_axis(self):
        return None if self.is_cut else make_axis(float(self.beta_range[0]), float(self.beta_range[1]), int(self.grid))

    def compute_center(self, objective, progress=None, should_stop=None):
        """(centre theta, initial theta, training path or None, loss history); the
        training reports ``progress(fraction)`` and ends early when ``should_stop()`` (see
        :func:`~core.landscapes.centers.train_full_batch`: the caller discards the result)."""
        initial = objective.initial_theta(self.init_scale, self.seed)
        if self.center == "init" and self.directions != "interpolate":
            return initial, initial, None, np.array([objective.loss(initial)])
        trained, path, losses = train_full_batch(objective, initial, self.train_steps,
                                                 record=self.directions == "pca", progress=progress,
                                                 should_stop=should_stop)
        if not (np.all(np.isfinite(trained)) and np.isfinite(losses[-1])):
            raise HillwalkError("training the centre diverged: the loss overflowed at the initial weights or on the "
                                "way; choose a smaller initialization (Xavier or 0.01), fewer layers, batch norm, "
                                "or the initial weights as the centre")
        return trained, initial, path, losses

    def plane(self, objective, center=None, center_label=None, progress=None, should_stop=None):
        """The plane (or line) of these settings for ``objective``; ``center`` (an array
        of the parameter shape) replaces the centre these settings would choose, e.g. an
        optimizer's current position. The centre's training (and the Hessian's Lanczos
        iterations) report ``progress(fraction)`` and end early when ``should_stop()``
        returns True; the plane is then None (the caller asked to stop)."""
        if objective.has_own_plane:  # a 2-D function: its own x and y are the plane
            plane = function_plane(objective, line=self.is_cut)
            plane.info.update({"center": "origin", "train_steps": 0, "center_loss": objective.loss(np.zeros(2)),
                               "initial_loss": objective.loss(np.zeros(2))})
            return plane
        if center is None:
            center, initial, path, losses = self.compute_center(objective, progress, should_stop)
            if should_stop is not None and should_stop():
                return None
        else:
            center = np.asarray(center, dtype=np.float64).reshape(objective.param_shape)
            initial = objective.initial_theta(self.init_scale, self.seed)
            path = self.compute_center(objective, progress, should_stop)[2] if self.directions == "pca" else None
            losses = np.array([objective.loss(initial), objective.loss(center)])
        seed = self.seed + 1
        kind = self.directions
        sliced = self.objective_in_modes(objective, center)
        if kind in ("gaussian", "filter", "layer", "model"):
            normalization = "none" if kind == "gaussian" else kind
            plane = random_plane(objective, center, normalization, self.orthogonalize, seed, line=self.is_cut,
                                 biases=self.biases)
        elif kind == "gradient":
            # the descent direction of the surface shown: the gradient in the slice's modes
            plane = gradient_plane(sliced, center, "filter", True, seed, line=self.is_cut, biases=self.biases)
        elif kind in ("hessian", "minmax"):
            # the curvature of the surface shown: the Hessian in the slice's modes
            plane = hessian_plane(sliced, center, "top" if kind == "hessian" else "minmax", seed, line=self.is_cut,
                                  progress=progress, should_stop=should_stop)
            if plane is None:
                return None
        elif kind == "pca":
            plane = pca_plane(path, line=self.is_cut)
        elif kind == "coords":
            r1, c1, r2, c2 = (int(v) for v in self.coords)
            # A network's parameters are one flat vector: the coordinates index W1.
            where = objective.weight_index
            plane = coordinate_plane(center, where(r1, c1), None if self.is_cut else where(r2, c2))
        else:
            plane = interpolation_line(initial, center)
        plane.info.update({"center": center_label or self.center,
                           "train_steps": self.train_steps if self.center == "trained" else 0,
                           "center_loss": float(losses[-1]), "initial_loss": float(losses[0])})
        if sliced is not objective:
            # the surface drawn is the loss in the slice's modes; the centre's training
            # loss is kept beside it (batch statistics; with dropout, the last training
            # step's loss under that step's fresh mask)
            plane.info.update(self.mode_info(objective), train_center_loss=plane.info["center_loss"],
                              center_loss=float(sliced.loss(center)))
        return plane

    def applies_modes(self, objective) -> bool:
        """Whether ``objective`` is a network with batch norm or dropout, whose loss the
        slice's ``bn_mode`` / ``dropout_mode`` choose."""
        return bool(getattr(objective, "is_network", False) and hasattr(objective, "with_modes")
                    and (getattr(objective, "batchnorm", False) or getattr(objective, "keep_prob", 1.0) < 1.0))

    def objective_in_modes(self, objective, center):
        """The objective whose values the slice shows: ``objective`` itself unless it is a
        network with batch norm or dropout, else a copy in this slice's modes, batch norm
        in "eval" mode normalizing with the running statistics of ``center`` (array of
        the parameter shape), estimated once from the full training data."""
        if not self.applies_modes(objective):
            return objective
        twin = objective.with_modes(bn_mode=self.bn_mode if objective.batchnorm else "train",
                                    dropout_mode=self.dropout_mode, running_stats=None)
        if objective.batchnorm and self.bn_mode == "eval":
            twin.estimate_running_stats(np.asarray(center, dtype=np.float64).reshape(objective.param_shape))
        return twin

    def mode_info(self, objective) -> dict:
        """What the plane's info records about the modes of a network with batch norm or
        dropout ({} otherwise): the raw modes and one line for outputs and figures."""
        if not self.applies_modes(objective):
            return {}
        info, parts = {}, []
        if objective.batchnorm:
            info["bn_mode"] = self.bn_mode
            parts.append("batch norm: " + ("eval (the centre's running statistics)" if self.bn_mode == "eval"
                                           else "train (batch statistics of the full training data)"))
        if objective.keep_prob < 1.0:
            info["dropout_mode"] = self.dropout_mode
            info["mask_seed"] = int(objective.mask_seed)
            if self.dropout_mode == "off":
                parts.append("dropout: off (evaluation)")
            elif self.dropout_mode == "fixed":
                parts.append(f"dropout: one fixed mask (seed {objective.mask_seed}), p = {objective.keep_prob:g}")
            else:
                parts.append(f"dropout: mean over {self.dropout_mode[5:]} masks (seeds {objective.mask_seed} "
                             f"on), p = {objective.keep_prob:g}")
        info["modes"] = "; ".join(parts)
        return info

    def iterate(self, objective, plane=None):
        """:func:`~core.landscapes.landscape.iter_slice` for these settings (progress steps),
        in the slice's modes (:meth:`objective_in_modes`)."""
        plane = plane if plane is not None else self.plane(objective)
        return iter_slice(self.objective_in_modes(objective, plane.center), plane, self.alpha_axis(), self.beta_axis(), self.component,
                          int(self.budget_mb * 2 ** 20))

    def compute(self, objective, plane=None, progress=None, should_stop=None):
        plane = plane if plane is not None else self.plane(objective)
        return compute_slice(self.objective_in_modes(objective, plane.center), plane, self.alpha_axis(), self.beta_axis(), self.component,
                             int(self.budget_mb * 2 ** 20), progress=progress, should_stop=should_stop)

    def modes(self) -> dict:
        """The modes a network with batch norm or dropout is sliced in (see the attributes)."""
        return {"bn_mode": self.bn_mode, "dropout_mode": self.dropout_mode}

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("coords", "alpha_range", "beta_range"):
            data[key] = list(data[key])
        return data


def function_plane(objective, line=False):
    """A 2-D function's own plane (or its x axis, with ``line``): centre (0, 0), directions
    x and y, and what its figures need in ``info``."""
    plane = coordinate_plane(np.zeros(2), 0, None if line else 1)
    plane.info.update({"label1": "x", "label2": "y",
                       # what a figure's colour bar or value axis names (no data, no penalty)
                       "value_label": "f(x, y)",
                       # where a figure marks the known minima (instead of a centre)
                       "minima": [list(m) for m in objective.minima],
                       # the objective's own coordinates (has_own_plane): x, y, not directions
                       "own_plane": True})
    return plane


def check_dropout_mode(mode) -> str:
    """``mode`` if it is "off", "fixed" or "mean:K" with K in RANGES["slice.dropout_masks"]
    (2 .. 100); otherwise a :class:`HillwalkError` that says what to write."""
    if not isinstance(mode, str):
        raise HillwalkError(f"the dropout mode must be off, fixed or mean:K, got {mode!r}")
    if mode in ("off", "fixed"):
        return mode
    if mode.startswith("mean:"):
        count = mode[5:]
        if not count.isdigit():
            raise HillwalkError(f"dropout mode {mode!r}: K of mean:K must be a whole number from 2 to 100, "
                                "e.g. mean:8")
        check("slice.dropout_masks", int(count))
        return f"mean:{int(count)}"
    raise HillwalkError(f"unknown dropout mode {mode!r}; choose off, fixed or mean:K (the mean over K masks, "
                        "e.g. mean:8)")
