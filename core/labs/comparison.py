"""Two models side by side: what each side is (:class:`ModelVariant`), and the figures
that turn "this landscape looks smoother" into numbers.

The Compare two models lab (and the presets built on it: batch norm, skip connections,
dropout, zero init) trains both sides on the same data from the same seed, slices each
around its trained weights with the same kind of directions, grid and range, and prints
under each landscape:

* its **roughness**: the mean absolute Laplacian of the loss over the slice
  (:func:`slice_roughness`), a curvature. Both sides have the same loss on the same data
  and the same kind of directions over the same range, so their figures compare
  directly. A gentle bowl scores low; walls that steepen abruptly (a loss that explodes
  a little way from the minimum), ridges and pits score high;
* its **non-convex share**: the fraction of the grid where the slice curves downwards in
  some direction (:func:`nonconvex_share`), the measure Li et al. (2018) map with the
  ratio of the Hessian's eigenvalues;
* per hidden layer, how many **distinct units** it has (:func:`distinct_units`): zero
  initialization keeps every unit of a layer identical through training.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from ..errors import HillwalkError
from ..landscapes.slices import SliceSpec
from ..models.problem import ClassifierSpec, format_widths

# The fields of ClassifierSpec a side sets; everything else (data, loss, regularizer,
# seed) is shared by both sides: it is the current problem's.
MODEL_FIELDS = ("model", "hidden", "activation", "slope", "pieces", "batchnorm", "keep_prob", "residual", "init")
# A side's label is a short caption over its plots.
MAX_LABEL_CHARS = 60
# A side's curvature is "downwards" where the smaller eigenvalue of the slice's 2 x 2
# Hessian is below this fraction of the larger one's size: round-off and flat regions
# (both eigenvalues ~0) are not counted as non-convex.
NONCONVEX_RATIO = 0.05


@dataclass(frozen=True)
class ModelVariant:
    """One side of the comparison: a model (the fields of
    :class:`~core.models.problem.ClassifierSpec` in MODEL_FIELDS) and the modes its slice
    is drawn in (see :class:`~core.landscapes.slices.SliceSpec`'s ``bn_mode`` and
    ``dropout_mode``). The data, loss, regularizer and seeds are the problem's.

    Attributes
    ----------
    label : str
        Shown over the side's plots ("" : a description made from the settings).
    model, hidden, activation, slope, pieces, batchnorm, keep_prob, residual, init
        As in ClassifierSpec (``slope``: leaky ReLU's, taken from the Model panel with "← Model").
    bn_mode, dropout_mode
        As in SliceSpec.
    """

    label: str = ""
    model: str = "net"
    hidden: int | tuple = (64,)
    activation: str = "relu"
    slope: float = 0.01
    pieces: int = 2
    batchnorm: bool = False
    keep_prob: float = 1.0
    residual: bool = False
    init: str = "he"
    bn_mode: str = "eval"
    dropout_mode: str = "off"

    def __post_init__(self):
        if not isinstance(self.label, str):
            raise HillwalkError(f"a model's label must be text, got {self.label!r}")
        if len(self.label) > MAX_LABEL_CHARS:
            raise HillwalkError(f"a model's label has at most {MAX_LABEL_CHARS} characters, got {len(self.label)}")
        # the problem's own checks (widths, activation, keep probability, skip connections
        # that need equal widths ...) with their messages
        spec = self.problem(ClassifierSpec())
        object.__setattr__(self, "hidden", spec.hidden)
        modes = self.slice_spec(SliceSpec())
        object.__setattr__(self, "dropout_mode", modes.dropout_mode)

    def problem(self, base: ClassifierSpec) -> ClassifierSpec:
        """``base`` (data, loss, regularizer, seed) with this side's model."""
        return replace(base, **{name: getattr(self, name) for name in MODEL_FIELDS})

    def slice_spec(self, base: SliceSpec) -> SliceSpec:
        """``base`` with this side's batch-norm and dropout modes."""
        return replace(base, bn_mode=self.bn_mode, dropout_mode=self.dropout_mode)

    @classmethod
    def of(cls, problem: ClassifierSpec, slice_spec: SliceSpec | None = None, label: str = "") -> "ModelVariant":
        """The side that is ``problem``'s model (sliced in ``slice_spec``'s modes)."""
        modes = {} if slice_spec is None else slice_spec.modes()
        return cls(label, **{name: getattr(problem, name) for name in MODEL_FIELDS}, **modes)

    def describe(self) -> str:
        """The label, or a short description of the settings, e.g. "8 x 32 ReLU network,
        skip connections"."""
        if self.label:
            return self.label
        if self.model == "linear":
            return "linear classifier"
        activation = {"relu": "ReLU", "leaky_relu": f"leaky ReLU ({self.slope:g})",
                      "maxout": f"maxout-{self.pieces}"}.get(self.activation, self.activation)
        parts = [f"{format_widths(self.hidden)} {activation} network"]
        if self.batchnorm:
            parts.append("batch norm" + (" (train mode)" if self.bn_mode == "train" else ""))
        if self.keep_prob < 1.0:
            parts.append(f"dropout p = {self.keep_prob:g} ({self.dropout_mode})")
        if self.residual:
            parts.append("skip connections")
        if self.init != "he":
            parts.append(f"{self.init} init")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data


# The lab's sides before anyone chooses: the notes' lesson of a linear classifier against a
# two-layer network on 2-D data.
# Without labels: a fixed label ("two-layer network") stayed on a side edited into another model.
DEFAULT_VARIANTS = (ModelVariant(model="linear"), ModelVariant(model="net", hidden=(64,)))
SIDES = ("a", "b")


def variant_fields() -> tuple:
    return tuple(f.name for f in fields(ModelVariant))


# --------------------------------------------------------------------------- the figures

def _interior_second_differences(values):
    """Second differences of ``values`` (ny, nx) at the interior points, in grid steps:
    (d2/da2, d2/db2, d2/da db), each (ny - 2, nx - 2)."""
    v = values
    d_aa = v[1:-1, 2:] - 2.0 * v[1:-1, 1:-1] + v[1:-1, :-2]
    d_bb = v[2:, 1:-1] - 2.0 * v[1:-1, 1:-1] + v[:-2, 1:-1]
    d_ab = 0.25 * (v[2:, 2:] - v[2:, :-2] - v[:-2, 2:] + v[:-2, :-2])
    return d_aa, d_bb, d_ab


def _check_grid(values, what):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or min(values.shape) < 3:
        raise HillwalkError(f"{what} needs a 2-D slice of at least 3 x 3 points, got shape {values.shape}")
    return values


def slice_roughness(landscape_or_values, alphas=None, betas=None) -> float:
    """Mean absolute Laplacian of the loss over a slice's interior points.

    ``mean |d2L/da2 + d2L/db2|``, each second derivative a central difference on the
    slice's grid divided by its step squared: a curvature, in loss per unit of the
    directions squared, that a finer grid of the same plane estimates alike. A bowl has
    the same curvature everywhere; walls that steepen abruptly, ridges and pits raise it.
    Santurkar et al. (2018) call a landscape smoother when its curvature is smaller.

    Parameters
    ----------
    landscape_or_values : Landscape (its values, alphas, betas), or values (ny, nx)
        with ``alphas`` (nx,) and ``betas`` (ny,)

    Returns
    -------
    float over the points whose five values are finite; NaN when there are none.
    """
    values, alphas, betas = _grid_of(landscape_or_values, alphas, betas)
    with np.errstate(invalid="ignore", over="ignore"):   # inf - inf: left out below
        d_aa, d_bb, _ = _interior_second_differences(values)
        laplacian = d_aa / _step(alphas) ** 2 + d_bb / _step(betas) ** 2
    laplacian = laplacian[np.isfinite(laplacian)]
    return float(np.mean(np.abs(laplacian))) if laplacian.size else float("nan")


def _grid_of(landscape_or_values, alphas, betas):
    if hasattr(landscape_or_values, "values"):
        landscape = landscape_or_values
        if landscape.betas is None:
            raise HillwalkError("the roughness figures need a 2-D slice; the landscape is a 1-D cut")
        values, alphas, betas = landscape.values, landscape.alphas, landscape.betas
    else:
        values = landscape_or_values
    values = _check_grid(values, "the roughness figures")
    alphas, betas = np.asarray(alphas, dtype=np.float64), np.asarray(betas, dtype=np.float64)
    if alphas.shape != (values.shape[1],) or betas.shape != (values.shape[0],):
        raise HillwalkError(f"axes of {alphas.shape} and {betas.shape} do not fit values of shape {values.shape}")
    return values, alphas, betas


def _step(axis) -> float:
    """The grid step of an evenly spaced axis."""
    return float(axis[-1] - axis[0]) / (axis.size - 1)


def nonconvex_share(landscape_or_values, alphas=None, betas=None, ratio: float = NONCONVEX_RATIO) -> float:
    """Fraction of a slice's interior points where it curves downwards.

    At each interior point the 2 x 2 Hessian of the loss is estimated by central
    differences on the grid (divided by the steps); the point counts as non-convex where
    its smaller eigenvalue is below ``-ratio * |larger eigenvalue|`` (Li et al. 2018 map
    the ratio of the two). NaN when no point has all nine neighbours finite.

    Parameters
    ----------
    landscape_or_values : Landscape, or values (ny, nx) with ``alphas`` (nx,), ``betas`` (ny,)
    ratio : float >= 0
    """
    values, alphas, betas = _grid_of(landscape_or_values, alphas, betas)
    # differences of infinite (overflowed) losses are NaN: those points are left out below
    with np.errstate(invalid="ignore", over="ignore"):
        d_aa, d_bb, d_ab = _interior_second_differences(values)
        step_a, step_b = _step(alphas), _step(betas)
        d_aa, d_bb, d_ab = d_aa / step_a ** 2, d_bb / step_b ** 2, d_ab / (step_a * step_b)
        mean = 0.5 * (d_aa + d_bb)
        spread = np.sqrt((0.5 * (d_aa - d_bb)) ** 2 + d_ab ** 2)
        smallest, largest = mean - spread, mean + spread
    known = np.isfinite(smallest) & np.isfinite(largest)
    if not known.any():
        return float("nan")
    return float(np.mean(smallest[known] < -ratio * np.abs(largest[known])))


def distinct_units(network, theta) -> tuple:
    """Per hidden layer of ``network``, how many of its units differ: units whose incoming
    weights and bias (and batch norm's gamma, beta) are all equal, to 1e-12 of the
    layer's largest weight, count once.

    Returns
    -------
    tuple of (distinct, width) pairs, one per hidden layer; () for a model without hidden
    layers.
    """
    layers = getattr(network, "layers", None)
    if not layers:
        return ()
    flat = np.asarray(theta, dtype=np.float64).reshape(-1)
    counts = []
    for layer in layers:
        # the unit axis last in every block: W (fan_in, width) or (k, fan_in, width),
        # b / gamma / beta (width,) or (k, width)
        parts = [block.view(flat).reshape(-1, layer.width) for block in (layer.W, layer.b, layer.gamma, layer.beta)
                 if block is not None]
        units = np.concatenate(parts, axis=0).T          # (width, incoming values)
        scale = max(float(np.max(np.abs(units))), 1e-300)
        # units equal to 1e-12 of the layer's scale fall in the same rounding cell
        cells = np.round(units / (scale * 1e-12))
        counts.append((int(np.unique(cells, axis=0).shape[0]), int(layer.width)))
    return tuple(counts)
