"""The experiment layer: every "given these settings, compute X" task of a scene.

The desktop app's workers and the command line call these same functions, so what the
window shows and what ``main.py render`` / ``trace`` / ``race`` write cannot drift apart.
Each task is a plain function (or generator) of settings and earlier results; the long ones
take ``report(fraction, text, partial=None)`` for progress and partial results and
``should_stop()`` for cancellation (both optional), and return None when stopped.

The tasks of a scene, in the order they depend on one another:

* :func:`build_objective` -- the objective of a problem (data, model, loss, regularizer);
  :func:`rebuild_regularization` -- the same data with other regularization settings;
* :func:`build_plane` -- the center and the directions of the slice;
* :func:`compute_scene_slice` -- the slice (the total split into its data and
  regularization parts where that lets a later change of lambda recompute only the
  cheap part: :func:`recompute_regularization`);
* :func:`cut_geometry` / :func:`compute_cut` -- the 1-D cut through the slice;
* :func:`start_run` / :func:`stream_run` -- one method of the race, streamed as increments.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .errors import HillwalkError
from .landscapes.directions import Plane
from .landscapes.landscape import Component, Landscape, compute_slice, get_parallelism, iter_slice, make_axis
from .landscapes.slices import function_plane
from .optimization.paths import (
    DEFAULT_POST_INTERVAL_S,
    PathIncrement,
    PathRecord,
    iter_path,
    race_walker,
    walks_in_plane,
)

CUT_POINTS = 201


def _quiet(fraction, text="", partial=None):
    """A ``report`` that ignores everything (the command line's)."""


def _never():
    return False


def describe_objective(objective) -> str:
    """One line about the objective: its data set, or its formula."""
    if objective.has_data:
        return objective.train.summary()
    return f"{objective.name}: {objective.formula}"


# --------------------------------------------------------------------------- objective and plane

def build_objective(problem, report=_quiet):
    """The objective of ``problem`` (a :class:`core.models.problem.ClassifierSpec`)."""
    report(0.0, "loading data")
    return problem.build()


def rebuild_regularization(problem, objective):
    """``problem``'s objective on ``objective``'s data (only the regularization differs):
    no reloading, no new split."""
    return problem.model_on(objective.train, objective.val)


def build_plane(objective, slice_spec, center=None, center_label=None, report=_quiet, should_stop=None,
                problem=None) -> Plane:
    """The plane (or line) of ``slice_spec`` for ``objective``; ``center`` (parameters)
    replaces the center the settings would choose (e.g. an optimizer's position). The
    centre's training reports its progress and ends early when ``should_stop()`` returns
    True (a stopped job's plane is discarded by whoever stopped it).

    Where ``slice_spec.center_regularization`` is set (a session saved after a change of
    the regularization alone, the plane kept), the centre and directions are found for
    ``problem`` (the ClassifierSpec ``objective`` was built from) with that regularization,
    on the same data: the plane the session was saved with.

    Where ``slice_spec.center_point`` is set (a session saved with the slice centred on a
    method's position) and no ``center`` is given, the plane is centred there."""
    report(0.0, "center and directions")
    # (a 2-D function has no regularization nor parameters of a model: a hand-edited record
    # or point means nothing there)
    # (a centre given by the caller replaces the settings' centre and their record alike)
    from_settings = center is None and not objective.has_own_plane
    point = slice_spec.center_point if from_settings else None
    if point is not None:
        size = int(np.prod(objective.param_shape))
        if point.size != size:
            raise HillwalkError(f"the slice's centre point has {point.size} parameters but the model takes {size}: "
                                f"it was saved for another model (remove the slice's center_point to centre on the "
                                f"{slice_spec.center} weights)")
        center, center_label = point.theta(), point.label
    record = slice_spec.center_regularization if from_settings else None
    if record is not None:
        if problem is None:
            raise HillwalkError("the slice's centre was found under another regularization: build_plane needs the "
                                "problem to find it again (problem=)")
        objective = rebuild_regularization(record.applied_to(problem), objective)
    plane = slice_spec.plane(objective, center=center, center_label=center_label,
                             progress=lambda fraction: report(fraction, "training the centre"),
                             should_stop=should_stop)
    if record is not None:   # (its centre loss is that regularization's: say so where it is shown)
        plane.info["center_regularization"] = dataclasses.asdict(record)
    return plane


# --------------------------------------------------------------------------- slice

@dataclass
class SceneSlice:
    """A computed slice and, when the total was split, its data part.

    Attributes
    ----------
    landscape : Landscape
    data_values : array of the landscape's shape, or None
        The data loss on the grid, kept so that a new regularization only needs the
        (cheap) regularization grid.
    """

    landscape: Landscape
    data_values: np.ndarray | None = None


def splits_total(objective, component) -> bool:
    """Whether the slice of ``component`` is computed as data + regularization."""
    return str(component) == "total" and objective.has_regularizer


def compute_scene_slice(objective, plane, slice_spec, report=_quiet, should_stop=_never) -> SceneSlice | None:
    """The slice of ``slice_spec`` on ``plane``.

    Partial results (through ``report``): ``("preview", Landscape)``, a coarse grid (method
    ``"preview"``) computed first so that something appears at once; without a ``report``
    (``render``) none is computed. Returns None when stopped.
    """
    alphas, betas = slice_spec.alpha_axis(), slice_spec.beta_axis()
    budget = int(slice_spec.budget_mb * 2 ** 20)
    component = slice_spec.component
    # a network with batch norm or dropout is sliced in the slice's modes (the plane's
    # info records them); any other objective is itself
    objective = slice_spec.objective_in_modes(objective, plane.center)
    split = splits_total(objective, component)
    result = None
    for step in iter_slice(objective, plane, alphas, betas, "data" if split else component, budget,
                           preview=report is not _quiet):
        if should_stop():
            return None
        if step.result is not None:
            result = step.result
            break
        preview = None
        if step.preview is not None:
            coarse_alphas, coarse_betas, coarse_values = step.preview
            preview = ("preview", Landscape(coarse_values, coarse_alphas, coarse_betas, Component.parse(component),
                                            plane, "preview"))
        report(step.fraction * (0.9 if split else 1.0), "slice", preview)
    if not split:
        return SceneSlice(result, None)
    regularization = _regularization_grid(objective, plane, alphas, betas, budget, should_stop)
    if regularization is None:
        return None
    landscape = Landscape(result.values + regularization.values, alphas, result.betas, Component.parse("total"),
                          plane, result.method, result.fallback_points + regularization.fallback_points,
                          result.seconds + regularization.seconds, dict(result.extra))
    return SceneSlice(landscape, result.values)


def _regularization_grid(objective, plane, alphas, betas, budget, should_stop):
    result = None
    for step in iter_slice(objective, plane, alphas, betas, "reg", budget):
        if should_stop():
            return None
        result = step.result
    return result


def recompute_regularization(objective, plane, scene: SceneSlice, component, budget_bytes,
                             should_stop=_never, slice_spec=None) -> SceneSlice | None:
    """After a change of regularization: the slice of ``component`` on the same plane and
    grid, reusing ``scene``'s data grid. Returns ``scene`` itself when the component does not
    depend on the regularization, and None when the data grid is missing (compute the whole
    slice then) or when stopped."""
    component = str(component)
    if component in ("data", "accuracy") or component.startswith("example"):
        return scene
    if component == "total" and scene.data_values is None:
        return None
    landscape = scene.landscape
    if slice_spec is not None:  # the penalty does not depend on the modes, but one objective draws the slice
        objective = slice_spec.objective_in_modes(objective, plane.center)
    regularization = _regularization_grid(objective, plane, landscape.alphas, landscape.betas, budget_bytes,
                                          should_stop)
    if regularization is None:
        return None
    values = regularization.values if component == "reg" else scene.data_values + regularization.values
    return SceneSlice(Landscape(values, landscape.alphas, landscape.betas, landscape.component, plane,
                                regularization.method, regularization.fallback_points, regularization.seconds),
                      scene.data_values)


def compute_landscape(objective, plane, slice_spec, should_stop=_never) -> Landscape | None:
    """The slice or cut of ``slice_spec`` as the app shows it (``render`` writes this)."""
    scene = compute_scene_slice(objective, plane, slice_spec, should_stop=should_stop)
    return None if scene is None else scene.landscape


# --------------------------------------------------------------------------- cut

@dataclass(frozen=True)
class CutGeometry:
    """A 1-D cut in plane coordinates: ``origin + s * direction`` for s in ``s_range``.

    origin, direction : arrays (2,) ; s_range : (low, high)
    """

    origin: np.ndarray
    direction: np.ndarray
    s_range: tuple


def cut_geometry(slice_spec, cut_mode, cut_angle, cut_points) -> CutGeometry:
    """The cut through the center at ``cut_angle`` degrees from the a axis (``"angle"``),
    or through two (a, b) points, a little beyond both (``"points"``)."""
    if cut_mode == "points":
        p1, p2 = (np.asarray(p, dtype=float) for p in cut_points)
        if np.allclose(p1, p2):
            p2 = p1 + np.array([1.0, 0.0])
        return CutGeometry(p1, p2 - p1, (-0.25, 1.25))
    angle = math.radians(cut_angle)
    direction = np.array([math.cos(angle), math.sin(angle)])
    return CutGeometry(np.zeros(2), direction, line_in_rectangle(direction, slice_spec.alpha_range,
                                                                 slice_spec.beta_range))


def line_in_rectangle(direction, a_range, b_range) -> tuple[float, float]:
    """(s0, s1): where the line ``s * direction`` through (0, 0) runs inside the slice's
    rectangle ``a_range x b_range``, so that a cut spans what the heatmap shows (a cut over
    +-the largest range end ran past the heatmap's edges where the ranges differ). With the
    centre outside the rectangle the span need not hold s = 0; where the line misses the
    rectangle (or only touches it), +-the largest range end."""
    low, high = -math.inf, math.inf
    for component, (start, end) in zip(direction, (a_range, b_range)):
        start, end = float(min(start, end)), float(max(start, end))
        if abs(component) < 1e-12:   # parallel to this side: inside only if 0 lies between
            if not start <= 0.0 <= end:
                low, high = math.inf, -math.inf
            continue
        first, second = sorted((start / component, end / component))
        low, high = max(low, first), min(high, second)
    if not high > low:
        reach = max(abs(float(v)) for v in (*a_range, *b_range))
        return (-reach, reach)
    return (float(low), float(high))


def compute_cut(objective, plane, slice_spec, geometry: CutGeometry, should_stop=_never) -> Landscape | None:
    """The loss along ``geometry`` (``CUT_POINTS`` points), or None when stopped."""
    if plane.dir2 is None:
        raise HillwalkError("a cut through the slice needs a plane (two directions), not a line")
    center = plane.point(geometry.origin[0], geometry.origin[1])
    along = geometry.direction[0] * plane.dir1 + geometry.direction[1] * plane.dir2
    info = {"kind": "cut", "label1": "s: position along the cut"}
    info.update(slice_spec.mode_info(objective))
    line = Plane(center, along, None, info)
    # the cut of the slice's surface: the same modes, running statistics of the slice's centre
    objective = slice_spec.objective_in_modes(objective, plane.center)
    result = None
    for step in iter_slice(objective, line, make_axis(*geometry.s_range, CUT_POINTS), None, slice_spec.component,
                           int(slice_spec.budget_mb * 2 ** 20)):
        if should_stop():
            return None
        result = step.result
    return result


# --------------------------------------------------------------------------- values as shown

def log_floor(smallest_positive=None) -> float:
    """Where a log scale shows zeros: half the smallest positive value (1e-12 without one)."""
    return smallest_positive / 2 if smallest_positive is not None else 1e-12


def clip_for_log(values):
    """Values ready for a log scale: non-positive ones raised to :func:`log_floor`, so that
    zero losses stay visible."""
    values = np.asarray(values, dtype=np.float64)
    positive = values[values > 0]
    return np.maximum(values, log_floor(positive.min() if positive.size else None))


def display_values(values, log_scale):
    """What the colors show: the values, or log10 of them (see :func:`clip_for_log`)."""
    return np.log10(clip_for_log(values)) if log_scale else np.asarray(values, dtype=np.float64)


def function_landscape(objective, points, grid=201, margin=0.08) -> Landscape:
    """A 2-D function over its view, widened to hold the given points (paths), on a
    ``grid`` x ``grid`` grid.

    points : array (P, 2) of (x, y)
    """
    (x0, x1), (y0, y1) = objective.view
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    # Widen the view for paths that leave it, but by at most one view size on each side:
    # a diverged path must not shrink the landscape to a dot.
    wx, wy = x1 - x0, y1 - y0
    inside = points[(points[:, 0] > x0 - wx) & (points[:, 0] < x1 + wx) & (points[:, 1] > y0 - wy)
                    & (points[:, 1] < y1 + wy)]
    if inside.size:
        x0, x1 = min(x0, inside[:, 0].min()), max(x1, inside[:, 0].max())
        y0, y1 = min(y0, inside[:, 1].min()), max(y1, inside[:, 1].max())
    pad_x, pad_y = margin * (x1 - x0), margin * (y1 - y0)
    plane = function_plane(objective)
    return compute_slice(objective, plane, make_axis(x0 - pad_x, x1 + pad_x, grid),
                         make_axis(y0 - pad_y, y1 + pad_y, grid), "total")


# --------------------------------------------------------------------------- runs

def start_run(objective, plane, race, spec):
    """The run of ``spec`` in the race ``race`` (a :class:`core.io.session.RaceSettings`)
    on ``plane``: in the plane when ``race.in_plane`` (and the plane has two directions),
    from ``plane.point(*race.start)`` otherwise."""
    return race_walker(objective, plane, race.start, spec, race.steps, race.seed, in_plane=race.in_plane)


def stream_run(objective, plane, race, spec, label="", report=_quiet, should_stop=_never,
               interval_s=DEFAULT_POST_INTERVAL_S, gate=None) -> PathIncrement | None:
    """Run one method of the race, posting its new rows through ``report`` (as partials,
    at most every ``interval_s``) and returning the last increment (None when stopped).
    ``gate``: see :func:`core.optimization.paths.iter_path`."""
    run = start_run(objective, plane, race, spec)
    last = None
    for increment in iter_path(run, plane, should_stop, interval_s, gate=gate,
                               blas_limit=get_parallelism().blas_limit):
        if increment.finished or increment.diverged_at is not None or increment.escaped_at is not None:
            last = increment
            break
        report(increment.steps_made / max(1, race.steps), label, increment)
    if should_stop() or last is None:
        return None
    return last


def record_race(objective, plane, race, specs, labels=None, should_stop=_never) -> list[PathRecord] | None:
    """Every method of the race run to its end (what ``trace --session`` and ``race`` do)."""
    records = []
    for k, spec in enumerate(specs):
        run = start_run(objective, plane, race, spec)
        record = PathRecord(plane, walks_in_plane(run), labels[k] if labels else run.label, spec.method)
        for increment in iter_path(run, plane, should_stop, interval_s=math.inf,
                                   blas_limit=get_parallelism().blas_limit):
            record.extend(increment)
        if should_stop():
            return None
        records.append(record)
    return records
