"""Curvature from exact Hessian-vector products: the full Hessian of small problems, its
extreme eigenpairs (Lanczos), its trace (Hutchinson) and its eigenvalue density
(stochastic Lanczos quadrature).

Every function needs an objective with an exact ``hvp(theta, v)``: the linear classifier,
the networks (every layer type, in their modes) and the 2-D test functions have one. The Hessian is never formed except by :func:`full_hessian`, for
problems of at most ``MAX_FULL_HESSIAN`` parameters. Every random choice takes a seed;
the long loops report progress and stop when asked (they then return None).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import HillwalkError, require_choice
from .limits import check_memory

# Parameters beyond which the full Hessian (n x n, built by n products) is refused: 3000
# parameters are a 72 MB matrix and 3000 Hessian-vector products.
MAX_FULL_HESSIAN = 3000
WHICH = ("top", "bottom", "both")


def _report(report, fraction, text):
    if report is not None:
        report(fraction, text)


def _stopped(should_stop) -> bool:
    return should_stop is not None and should_stop()


def require_hvp(objective):
    """Refuse an objective without exact Hessian-vector products, saying which have them."""
    if not callable(getattr(objective, "hvp", None)):
        name = objective.describe().get("model", type(objective).__name__) if hasattr(objective, "describe") \
            else type(objective).__name__
        raise HillwalkError(f"curvature needs exact Hessian-vector products, and the {name} model has none; "
                            "the linear classifier, the networks and the 2-D test functions have them")


def hessian_vector(objective, theta, v):
    """``H(theta) v`` as a flat vector (n,), for ``theta`` and ``v`` of the parameter size."""
    require_hvp(objective)
    theta = np.asarray(theta, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if v.size != theta.size:
        raise HillwalkError(f"a direction of {v.size} numbers does not fit {theta.size} parameters")
    return np.asarray(objective.hvp(theta, v.reshape(theta.shape)), dtype=np.float64).reshape(-1)


def plane_hessian(objective, theta, dir1, dir2):
    """The Hessian restricted to a plane at ``theta``: the 2 x 2 matrix
    ``[[d1.H d1, d1.H d2], [d2.H d1, d2.H d2]]`` (two products, symmetrized): the loss's
    curvature per unit of the plane's coordinates a and b. Its eigenvalues are the
    slice's principal curvatures there (both positive in a bowl, of opposite signs at a
    saddle of the slice)."""
    dir1 = np.asarray(dir1, dtype=np.float64).reshape(-1)
    dir2 = np.asarray(dir2, dtype=np.float64).reshape(-1)
    h1, h2 = hessian_vector(objective, theta, dir1), hessian_vector(objective, theta, dir2)
    cross = 0.5 * (float(dir1 @ h2) + float(dir2 @ h1))
    return np.array([[float(dir1 @ h1), cross], [cross, float(dir2 @ h2)]])


def full_hessian(objective, theta, max_size=MAX_FULL_HESSIAN, report=None, should_stop=None):
    """The Hessian at ``theta``, (n, n), column k = ``H e_k``, symmetrized (the products are
    symmetric to round-off; the mean of H and H^T removes that round-off). None when stopped.
    """
    theta = np.asarray(theta, dtype=np.float64)
    n = theta.size
    if n > max_size:
        raise HillwalkError(f"the full Hessian of {n} parameters would be a {n} x {n} matrix (at most {max_size} "
                            "parameters); use Lanczos for its extreme eigenvalues instead")
    require_hvp(objective)
    columns = np.empty((n, n))
    unit = np.zeros(n)
    for k in range(n):
        if _stopped(should_stop):
            return None
        unit[k] = 1.0
        columns[:, k] = hessian_vector(objective, theta, unit)
        unit[k] = 0.0
        if k % 64 == 0:
            _report(report, k / n, "Hessian column by column")
    _report(report, 1.0, "Hessian column by column")
    return 0.5 * (columns + columns.T)


@dataclass
class Spectrum:
    """Extreme eigenpairs found by :func:`lanczos`.

    Attributes
    ----------
    eigenvalues : (k,) ascending for "bottom", descending for "top"; "both": the top ones
        (descending) then the bottom ones (ascending)
    eigenvectors : (k, n) unit vectors, row i for eigenvalue i
    residuals : (k,) ``||H v - lambda v||`` of each pair (its accuracy)
    iterations : int, Lanczos steps taken
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residuals: np.ndarray
    iterations: int


def _lanczos_basis(objective, theta, start, steps, should_stop=None, report=None, text="Lanczos"):
    """``steps`` Lanczos steps from ``start`` with full reorthogonalization.

    Returns (Q (m, n), alpha (m,), beta (m,)), m <= steps (fewer when an invariant subspace
    is found: beta ~ 0), beta[j] coupling q_j and q_{j+1}; None when stopped."""
    n = start.size
    q = start / np.linalg.norm(start)
    basis, alphas, betas = [q], [], []
    for j in range(steps):
        if _stopped(should_stop):
            return None
        w = hessian_vector(objective, theta, basis[-1])
        alpha = float(basis[-1] @ w)
        alphas.append(alpha)
        Q = np.array(basis)
        # full reorthogonalization, twice (Gram-Schmidt loses orthogonality once Ritz values converge)
        for _ in range(2):
            w = w - Q.T @ (Q @ w)
        beta = float(np.linalg.norm(w))
        betas.append(beta)
        _report(report, (j + 1) / steps, text)
        scale = max(abs(alpha), max(abs(a) for a in alphas), 1e-300)
        if j + 1 == steps or len(basis) == n or beta <= 1e-12 * scale:
            break
        basis.append(w / beta)
    return np.array(basis), np.array(alphas), np.array(betas)


def _check_basis(steps, n):
    """Refuse a Lanczos run whose basis would not fit the memory budget: full
    reorthogonalization keeps every vector (and a copy while stacking them)."""
    check_memory(2.0 * 8 * (steps + 1) * n, f"Lanczos' basis of {steps} vectors of {n} parameters",
                 "take fewer Lanczos steps, or a smaller model")


def _tridiagonal(alphas, betas):
    m = alphas.size
    return np.diag(alphas) + np.diag(betas[:m - 1], 1) + np.diag(betas[:m - 1], -1)


def lanczos(objective, theta, k=1, which="top", iterations=None, seed=0, report=None, should_stop=None):
    """The ``k`` largest ("top"), smallest ("bottom") or both ("both": k of each)
    eigenpairs of the Hessian at ``theta``, by Lanczos with full reorthogonalization from a
    seeded Gaussian start.

    Parameters
    ----------
    k : int >= 1 ; which : one of WHICH
    iterations : Lanczos steps (default ``min(n, max(4 k + 20, 60))``; at most n)
    seed : int

    Returns
    -------
    Spectrum, or None when stopped.
    """
    require_choice(which, WHICH, "which eigenvalues")
    theta = np.asarray(theta, dtype=np.float64)
    n = theta.size
    wanted = int(k) * (2 if which == "both" else 1)
    if not 1 <= int(k) or wanted > n:
        raise HillwalkError(f"asked for {wanted} eigenvalue(s) of a Hessian of {n} parameters; ask for 1 to {n}")
    steps = min(n, int(iterations) if iterations is not None else max(4 * int(k) + 20, 60))
    if steps < wanted:
        raise HillwalkError(f"{steps} Lanczos steps cannot give {wanted} eigenvalues; take at least {wanted}")
    _check_basis(steps, n)
    start = np.random.default_rng(seed).standard_normal(n)
    built = _lanczos_basis(objective, theta, start, steps, should_stop, report)
    if built is None:
        return None
    Q, alphas, betas = built
    values, vectors = np.linalg.eigh(_tridiagonal(alphas, betas))     # ascending
    m = alphas.size
    if which == "top":
        order = np.arange(m - 1, m - 1 - k, -1)
    elif which == "bottom":
        order = np.arange(min(k, m))
    else:
        order = np.concatenate([np.arange(m - 1, m - 1 - k, -1), np.arange(k)])
    order = order[(order >= 0) & (order < m)]
    ritz_vectors = vectors[:, order].T @ Q                             # (k, n)
    ritz_vectors /= np.linalg.norm(ritz_vectors, axis=1, keepdims=True)
    residuals = np.array([np.linalg.norm(hessian_vector(objective, theta, vec) - value * vec)
                          for value, vec in zip(values[order], ritz_vectors)])
    return Spectrum(values[order], ritz_vectors, residuals, m)


def hutchinson_trace(objective, theta, samples=32, seed=0, report=None, should_stop=None):
    """Hutchinson's estimate of the Hessian's trace: the mean of ``z^T H z`` over
    ``samples`` Rademacher vectors z (seeded).

    Returns
    -------
    (estimate, standard error of the mean), or None when stopped.
    """
    if int(samples) < 2:
        raise HillwalkError(f"Hutchinson's estimate needs at least 2 samples, got {samples}")
    theta = np.asarray(theta, dtype=np.float64)
    rng = np.random.default_rng(seed)
    values = []
    for s in range(int(samples)):
        if _stopped(should_stop):
            return None
        z = rng.choice((-1.0, 1.0), size=theta.size)
        values.append(float(z @ hessian_vector(objective, theta, z)))
        _report(report, (s + 1) / samples, "Hutchinson's trace")
    values = np.array(values)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


@dataclass
class SpectralDensity:
    """The eigenvalue density estimated by stochastic Lanczos quadrature.

    Attributes
    ----------
    nodes, weights : (probes, m) Ritz values and their weights per probe (each probe's
        weights sum to 1): the density is ``mean over probes of sum_i w_i delta(x - node_i)``
    grid : (G,) ; density : (G,) that sum smoothed by a Gaussian of width ``sigma``
        (integrates to 1 over a grid wide enough)
    sigma : float
    """

    nodes: np.ndarray
    weights: np.ndarray
    grid: np.ndarray
    density: np.ndarray
    sigma: float


def spectral_density(objective, theta, probes=4, iterations=40, seed=0, points=400, sigma=None, report=None,
                     should_stop=None):
    """Stochastic Lanczos quadrature: for each of ``probes`` seeded Rademacher vectors,
    ``iterations`` Lanczos steps; the tridiagonal matrix's eigenvalues are the nodes and the
    squared first components of its eigenvectors the weights. ``sigma`` defaults to 1% of
    the nodes' span. None when stopped."""
    if int(probes) < 1 or int(iterations) < 2:
        raise HillwalkError(f"the density needs at least 1 probe and 2 Lanczos steps, got {probes} and {iterations}")
    theta = np.asarray(theta, dtype=np.float64)
    steps = min(int(iterations), theta.size)
    _check_basis(steps, theta.size)
    rng = np.random.default_rng(seed)
    node_rows, weight_rows = [], []
    for p in range(int(probes)):
        start = rng.choice((-1.0, 1.0), size=theta.size)
        inner = None if report is None else (lambda f, t, p=p: report((p + f) / probes, "eigenvalue density"))
        built = _lanczos_basis(objective, theta, start, steps, should_stop, inner, "eigenvalue density")
        if built is None:
            return None
        _, alphas, betas = built
        values, vectors = np.linalg.eigh(_tridiagonal(alphas, betas))
        nodes, weights = np.full(steps, np.nan), np.zeros(steps)
        nodes[:values.size], weights[:values.size] = values, vectors[0] ** 2
        node_rows.append(nodes)
        weight_rows.append(weights)
    nodes, weights = np.array(node_rows), np.array(weight_rows)
    known = np.isfinite(nodes)
    low, high = float(nodes[known].min()), float(nodes[known].max())
    span = max(high - low, 1e-12 * max(abs(low), abs(high), 1.0))
    sigma = float(sigma) if sigma is not None else 0.01 * span
    grid = np.linspace(low - 5 * sigma, high + 5 * sigma, int(points))
    kernel = np.exp(-0.5 * ((grid[:, None] - nodes[known][None, :]) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    density = kernel @ weights[known] / nodes.shape[0]
    return SpectralDensity(nodes, weights, grid, density, sigma)
