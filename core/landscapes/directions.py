"""Directions through parameter space, and the planes (or lines) they span.

A :class:`Plane` holds a centre ``theta`` and one or two directions of the same shape; the
slice shows ``L(center + a * dir1 + b * dir2)``. Whatever produced the directions, the
plane records their norms and the cosine between them, so a skewed plane is never passed
off as an orthogonal one.

Normalization (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets"):

* ``filter``: each filter of the direction is scaled to the norm of the same filter of
  the centre. For a linear classifier a filter is a row of W (one class template,
  bias entry included); for networks, one neuron's incoming weights.
* ``layer``: each parameter block (layer) scaled to the centre's block norm.
* ``model``: the whole vector scaled to the centre's norm.
* ``none``: raw N(0, 1) entries.

Directions are always Gaussian: uniform entries (a known defect of a popular peer) give
directions that are far from isotropic.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import HillwalkError, require_choice
from ..models.blocks import Block

NORMALIZATIONS = ("filter", "layer", "model", "none")
BIAS_MODES = ("zero", "keep")
DIRECTION_KINDS = ("gaussian", "gradient", "pca", "coords", "interpolate")


def layout_of(objective):
    """The objective's parameter blocks; a single block of its shape if it declares none."""
    if objective.has_layers:
        return objective.parameter_blocks()
    return [Block("theta", tuple(objective.param_shape), 0, 0)]


@dataclass
class Plane:
    """A centre and one (a line) or two (a plane) directions, all of the parameter shape.

    Attributes
    ----------
    center, dir1 : arrays of the parameter shape
    dir2 : array of the parameter shape, or None for a 1-D cut
    info : dict
        How the directions were made (kind, normalization, orthogonalized, seed ...),
        their norms and the cosine between them (filled in by the constructor).
    """

    center: np.ndarray
    dir1: np.ndarray
    dir2: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.center = np.asarray(self.center, dtype=np.float64)
        self.dir1 = np.asarray(self.dir1, dtype=np.float64)
        shapes = {self.center.shape, self.dir1.shape}
        if self.dir2 is not None:
            self.dir2 = np.asarray(self.dir2, dtype=np.float64)
            shapes.add(self.dir2.shape)
        if len(shapes) != 1:
            raise HillwalkError(f"centre and directions must have the same shape, got {sorted(shapes)}")
        for name, array in (("center", self.center), ("direction 1", self.dir1), ("direction 2", self.dir2)):
            if array is not None and not np.all(np.isfinite(array)):
                raise HillwalkError(f"the {name} holds NaN or infinite values")
        norm1 = float(np.linalg.norm(self.dir1))
        if norm1 == 0:
            raise HillwalkError("direction 1 is zero; a slice needs a non-zero direction")
        self.info = dict(self.info)
        self.info["norm1"] = norm1
        self.info["center_norm"] = float(np.linalg.norm(self.center))
        if self.dir2 is not None:
            norm2 = float(np.linalg.norm(self.dir2))
            if norm2 == 0:
                raise HillwalkError("direction 2 is zero; a plane needs two non-zero directions")
            self.info["norm2"] = norm2
            self.info["cosine"] = float(np.dot(self.dir1.ravel(), self.dir2.ravel()) / (norm1 * norm2))

    @property
    def is_line(self) -> bool:
        return self.dir2 is None

    def point(self, a, b=0.0):
        """``center + a * dir1 + b * dir2``."""
        theta = self.center + a * self.dir1
        if self.dir2 is not None and b != 0:
            theta = theta + b * self.dir2
        return theta

    def describe_axis(self, which: int, name_direction: bool = True, with_cosine: bool = True) -> str:
        """A short label for an axis, e.g. 'a: filter-normalized gaussian, |d1| = 3.2'.

        ``name_direction=False`` leaves out the kind of direction (for a narrow vertical
        axis whose kind the other axis already names); ``with_cosine=False`` the second
        axis's cosine with the first (for a short one); the norm always stays.
        """
        letter, norm = ("a", self.info["norm1"]) if which == 1 else ("b", self.info.get("norm2", 0.0))
        kind = self.info.get("kind", "direction")
        label = self.info.get(f"label{which}", kind)
        text = f"{letter}: {label}, |d{which}| = {norm:.3g}" if name_direction else f"{letter}: |d{which}| = {norm:.3g}"
        if which == 2 and with_cosine and "cosine" in self.info:
            text += f", cos(d1, d2) = {self.info['cosine']:.2g}"
        return text


def gaussian_direction(shape, rng):
    """Standard normal entries (never uniform). ``rng`` is a ``numpy.random.Generator``."""
    return rng.standard_normal(shape)


def normalize(direction, center, blocks, mode, biases="zero"):
    """Scale a direction relative to the centre.

    Parameters
    ----------
    direction, center : arrays of the parameter shape
    blocks : list of Block
    mode : {"filter", "layer", "model", "none"}
    biases : {"zero", "keep"}
        What happens to blocks marked ``is_bias`` (a network's b1, b2), as in Li et al.'s
        code: "zero" sets them to 0 in the direction (the centre's biases stay fixed
        across the plane); "keep" gives them a direction too: under filter and layer
        normalization each bias "filter" is a single number, so the direction's bias
        equals the centre's bias (their ``d.copy_(w)``); under model and none, the bias
        entries are scaled with everything else.

    Returns
    -------
    A new array of the parameter shape.
    """
    require_choice(mode, NORMALIZATIONS, "normalization")
    require_choice(biases, BIAS_MODES, "bias handling")
    d = np.array(direction, dtype=np.float64)
    c = np.asarray(center, dtype=np.float64)
    flat_d, flat_c = d.reshape(-1), c.reshape(-1)
    bias_blocks = [block for block in blocks if block.is_bias]
    if biases == "zero":
        for block in bias_blocks:
            block.view(flat_d)[...] = 0.0
    if mode == "none":
        return d
    if mode == "model":
        return d * _ratio(np.linalg.norm(c), np.linalg.norm(d), "the centre")
    for block in blocks:
        bd, bc = block.view(flat_d), block.view(flat_c)
        if block.is_bias:
            if biases == "keep":
                bd[...] = bc
            continue
        if mode == "layer":
            bd *= _ratio(np.linalg.norm(bc), np.linalg.norm(bd), f"block {block.name}")
            continue
        axes = tuple(k for k in range(bd.ndim) if k != block.filter_axis)
        center_norms = np.sqrt(np.sum(bc ** 2, axis=axes, keepdims=True))
        direction_norms = np.sqrt(np.sum(bd ** 2, axis=axes, keepdims=True))
        if np.any(center_norms == 0):
            zero = int(np.flatnonzero(center_norms.ravel() == 0)[0])
            raise HillwalkError(f"filter normalization needs non-zero filters, but filter {zero} of {block.name} "
                                "is zero at the centre (a zero initialization keeps a network's filters zero, even "
                                "after training); choose another initialization or centre, or directions "
                                "normalized per layer or not at all")
        bd *= center_norms / np.where(direction_norms > 0, direction_norms, 1.0)
    return d


def bias_note(blocks, biases):
    """How a plane treats biases, for its info: 'in W (bias trick)', 'zeroed' or 'kept'."""
    if not any(block.is_bias for block in blocks):
        return "in W (bias trick)"
    return "zeroed" if biases == "zero" else "kept"


def _ratio(target, current, what):
    if target == 0:
        raise HillwalkError(f"cannot normalize to {what}: its norm is zero; use another centre or 'none'")
    return target / current if current > 0 else 0.0


def orthogonalize(d1, d2):
    """``d2`` minus its projection on ``d1``, rescaled to ``d2``'s original norm.

    Orthogonalizing after normalizing, and rescaling by one scalar, keeps the plane
    orthogonal (normalizing after orthogonalizing, a known peer bug, would skew it
    again) and keeps the second axis on the scale the normalization chose.
    """
    d1f, d2f = d1.ravel(), d2.ravel()
    norm2 = np.linalg.norm(d2f)
    residual = d2f - (np.dot(d1f, d2f) / np.dot(d1f, d1f)) * d1f
    residual_norm = np.linalg.norm(residual)
    if residual_norm <= 1e-12 * norm2:
        raise HillwalkError("the two directions are parallel, so no plane can be orthogonalized from them; "
                            "choose another seed or direction")
    return (residual * (norm2 / residual_norm)).reshape(d2.shape)


def random_plane(objective, center, normalization="filter", orthogonal=False, seed=0, line=False, biases="zero"):
    """A plane (or line) through ``center`` along Gaussian directions.

    Parameters
    ----------
    objective : an objective (for its parameter layout)
    center : array of the parameter shape
    normalization : {"filter", "layer", "model", "none"}
    orthogonal : bool
        Orthogonalize dir2 against dir1 (after normalization).
    seed : int
    line : bool
        Only one direction (a 1-D cut).
    biases : {"zero", "keep"}
        Networks only: see :func:`normalize`.
    """
    center = np.asarray(center, dtype=np.float64)
    rng = np.random.default_rng(seed)
    blocks = layout_of(objective)
    dir1 = normalize(gaussian_direction(center.shape, rng), center, blocks, normalization, biases)
    dir2 = None
    if not line:
        dir2 = normalize(gaussian_direction(center.shape, rng), center, blocks, normalization, biases)
        if orthogonal:
            dir2 = orthogonalize(dir1, dir2)
    label = f"{normalization}-normalized gaussian" if normalization != "none" else "gaussian"
    return Plane(center, dir1, dir2, {"kind": "gaussian", "normalization": normalization,
                                      "orthogonalized": bool(orthogonal and not line), "seed": seed,
                                      "biases": bias_note(blocks, biases), "label1": label, "label2": label})


def gradient_plane(objective, center, normalization="filter", orthogonal=True, seed=0, line=False, biases="zero"):
    """dir1 = the negative gradient at the centre, normalized like the random directions;
    dir2 = a Gaussian direction (orthogonalized against dir1 unless asked not to)."""
    center = np.asarray(center, dtype=np.float64)
    _, grad = objective.loss_and_grad(center)
    if not np.any(grad):
        raise HillwalkError("the gradient is zero at this centre, so it gives no direction; use random directions")
    blocks = layout_of(objective)
    dir1 = normalize(-np.asarray(grad, dtype=np.float64).reshape(center.shape), center, blocks, normalization,
                     biases)
    dir2 = None
    if not line:
        dir2 = normalize(gaussian_direction(center.shape, np.random.default_rng(seed)), center, blocks,
                         normalization, biases)
        if orthogonal:
            dir2 = orthogonalize(dir1, dir2)
    return Plane(center, dir1, dir2, {"kind": "gradient", "normalization": normalization,
                                      "orthogonalized": bool(orthogonal and not line), "seed": seed,
                                      "biases": bias_note(blocks, biases),
                                      "label1": f"negative gradient ({normalization})",
                                      "label2": f"{normalization}-normalized gaussian"})


def hessian_plane(objective, center, which="top", seed=0, line=False, iterations=None, progress=None,
                  should_stop=None):
    """Directions of the Hessian at the centre: its top two eigenvectors (``which="top"``:
    the sharpest directions), or its largest- and smallest-eigenvalue ones
    (``"minmax"``: the most positive and the most negative curvature, where a network's
    saddles show). Found by Lanczos (seeded, :func:`core.curvature.lanczos`), each
    eigenvector scaled to the centre's norm (so that a = 1 is as far as the centre is from
    0, as with model normalization; unit length at a zero centre); their eigenvalues, per
    unit of a unit vector, and Lanczos' residuals are recorded and written on the axes.

    Returns the Plane, or None when stopped.
    """
    from ..curvature import lanczos

    require_choice(which, ("top", "minmax"), "Hessian directions")
    center = np.asarray(center, dtype=np.float64)
    spectrum = lanczos(objective, center, k=1 if which == "minmax" else 2, which="both" if which == "minmax" else "top",
                       iterations=iterations, seed=seed,
                       report=None if progress is None else (lambda fraction, text: progress(fraction)),
                       should_stop=should_stop)
    if spectrum is None:
        return None
    scale = float(np.linalg.norm(center)) or 1.0
    vectors = [vector.reshape(center.shape) * scale for vector in spectrum.eigenvectors]
    values = [float(value) for value in spectrum.eigenvalues]
    names = ("largest", "smallest") if which == "minmax" else ("top", "second")
    labels = [f"Hessian {name} eigenvector, lambda = {value:.4g}" for name, value in zip(names, values)]
    info = {"kind": "hessian", "normalization": "model", "orthogonalized": True, "seed": seed, "which": which,
            "eigenvalue1": values[0], "residual1": float(spectrum.residuals[0]),
            "lanczos_iterations": int(spectrum.iterations), "label1": labels[0]}
    if not line:
        info.update(eigenvalue2=values[1], residual2=float(spectrum.residuals[1]), label2=labels[1])
    return Plane(center, vectors[0], None if line else vectors[1], info)


def pca_plane(trajectory, center=None, line=False):
    """The plane of the top two principal components of ``theta_t - theta_final``.

    Parameters
    ----------
    trajectory : array, shape (T, *param_shape), T >= 3
        Recorded parameters; the last one is the final point.
    center : array of the parameter shape or None
        Defaults to the final point.

    Returns
    -------
    Plane whose directions are the principal axes scaled so that the trajectory's
    projection spans [-1, 1] along each, with ``explained_variance`` (ratios of the two
    components) in ``info``.
    """
    path = np.asarray(trajectory, dtype=np.float64)
    if path.ndim < 2 or path.shape[0] < 3:
        raise HillwalkError("PCA directions need a trajectory of at least 3 recorded points")
    final = path[-1]
    deviations = (path - final).reshape(path.shape[0], -1)
    _, singular, components = np.linalg.svd(deviations, full_matrices=False)
    total = float(np.sum(singular ** 2))
    if total == 0 or singular.size < 2 or singular[1] <= 1e-12 * singular[0]:
        raise HillwalkError("the trajectory does not span two dimensions (it is a point or a straight line); "
                            "PCA directions need a path that turns")
    explained = (singular[:2] ** 2 / total).tolist()
    directions = []
    for k in range(1 if line else 2):
        axis = components[k]
        if np.dot(deviations[0], axis) < 0:  # orient so the start lies at positive coordinates
            axis = -axis
        extent = float(np.max(np.abs(deviations @ axis)))
        directions.append((axis * extent).reshape(final.shape))
    center = final if center is None else np.asarray(center, dtype=np.float64)
    return Plane(center, directions[0], None if line else directions[1],
                 {"kind": "pca", "normalization": "trajectory extent", "orthogonalized": True,
                  "explained_variance": explained[:1] if line else explained, "trajectory_points": path.shape[0],
                  "label1": f"PC1 ({100 * explained[0]:.1f}% of variance)",
                  "label2": f"PC2 ({100 * explained[1]:.1f}% of variance)"})


def coordinate_plane(center, index1, index2=None):
    """Axes along single parameters, e.g. ``W[0, 0]`` and ``W[1, 0]``: unit basis vectors.

    ``index1``/``index2`` are tuples into the parameter shape (or flat ints).
    """
    center = np.asarray(center, dtype=np.float64)
    dirs, labels = [], []
    for index in (index1, index2):
        if index is None:
            dirs.append(None)
            continue
        try:
            flat = int(np.ravel_multi_index(tuple(np.atleast_1d(index)), center.shape)) \
                if np.ndim(index) else int(index)
            if not 0 <= flat < center.size:
                raise ValueError
        except (ValueError, TypeError):
            raise HillwalkError(f"coordinate {index} is outside the parameter shape {center.shape}") from None
        unit = np.zeros(center.size)
        unit[flat] = 1.0
        dirs.append(unit.reshape(center.shape))
        labels.append("theta[" + ", ".join(str(int(k)) for k in np.unravel_index(flat, center.shape)) + "]")
    if index2 is not None and np.array_equal(dirs[0], dirs[1]):
        raise HillwalkError("the two coordinates are the same; choose two different parameters")
    info = {"kind": "coords", "normalization": "unit", "orthogonalized": True, "label1": labels[0]}
    if index2 is not None:
        info["label2"] = labels[1]
    return Plane(center, dirs[0], dirs[1], info)


def interpolation_line(theta_from, theta_to):
    """The line ``theta_from + a * (theta_to - theta_from)``: a = 0 at the first point,
    a = 1 at the second."""
    theta_from = np.asarray(theta_from, dtype=np.float64)
    theta_to = np.asarray(theta_to, dtype=np.float64)
    if theta_from.shape != theta_to.shape:
        raise HillwalkError(f"cannot interpolate between shapes {theta_from.shape} and {theta_to.shape}")
    if np.array_equal(theta_from, theta_to):
        raise HillwalkError("the two points are the same; interpolation needs two different parameter vectors")
    return Plane(theta_from, theta_to - theta_from, None,
                 {"kind": "interpolate", "normalization": "none", "orthogonalized": False,
                  "label1": "interpolation (0 = first point, 1 = second)"})
