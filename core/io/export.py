"""Writing landscapes to files that can be read back without Hillwalk.

* NPZ: arrays ``loss`` (len(betas) x len(alphas), rows follow b; len(alphas) for a cut),
  ``alphas``, ``betas`` (empty for a cut), ``center``, ``dir1``, ``dir2`` (parameter
  shape; zeros for a cut), ``meta`` (a JSON string) and optionally ``X`` (the design
  matrix used, bias column included) and ``y``.
* CSV: long format, ``a,b,loss`` for a slice and ``a,loss`` for a cut.

Every file is written through :func:`~core.io.files.atomic_output`: a full disk or a
read-only folder gives one :class:`~core.errors.HillwalkError` and leaves no partial file;
an existing file of that name keeps its bytes.
"""
from __future__ import annotations

import csv
import json

import numpy as np

from ..errors import HillwalkError
from ..models.components import Component
from .files import atomic_output, check_output_folder

FORMATS = (".npz", ".csv", ".png")


def _writable(path):
    return check_output_folder(path, "output file")


def _write_npz(path, arrays, what):
    # np.savez_compressed appends ".npz" to a file name without it; an open handle is
    # written as it is, whatever the temporary's name
    with atomic_output(path, what) as temporary, open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _write_csv(path, write_rows, what):
    with atomic_output(path, what) as temporary, open(temporary, "w", newline="") as handle:
        write_rows(csv.writer(handle))


def landscape_meta(landscape, settings: dict, objective=None) -> dict:
    """Everything needed to understand and reproduce a landscape, JSON-serializable."""
    meta = {"format": "hillwalk-landscape", "version": 1, "settings": settings, "landscape": landscape.meta()}
    if objective is not None:
        meta["objective"] = objective.describe()
    return json.loads(json.dumps(meta, default=_jsonable))


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _data_arrays(objective) -> dict:
    """``X`` (the model's inputs: bias column included for the linear classifier) and ``y``,
    for a file that can be recomputed without Hillwalk (``--save-data``)."""
    if objective is None or not objective.has_data:
        raise HillwalkError("--save-data needs a data set; this objective has none")
    return {"X": objective.X, "y": objective.y}


def save_landscape_npz(path, landscape, meta: dict, objective=None, save_data=False):
    path = _writable(path)
    plane = landscape.plane
    arrays = {"loss": landscape.values, "alphas": landscape.alphas,
              "betas": np.zeros(0) if landscape.betas is None else landscape.betas,
              "center": plane.center, "dir1": plane.dir1,
              "dir2": np.zeros_like(plane.dir1) if plane.dir2 is None else plane.dir2,
              "meta": np.array(json.dumps(meta))}
    if save_data:
        arrays.update(_data_arrays(objective))
    _write_npz(path, arrays, "landscape file")
    return path


def value_column(component) -> str:
    """The CSV column of a landscape's values: ``loss`` for the total (as before), else
    what the component is: ``data_loss``, ``reg_penalty``, ``accuracy``, ``loss_example_K``."""
    if not isinstance(component, Component):
        component = Component.parse(str(component))
    if component.kind == "example":
        return f"loss_example_{component.index}"
    return {"total": "loss", "data": "data_loss", "reg": "reg_penalty"}.get(component.kind, component.kind)


def save_landscape_csv(path, landscape):
    """Long format: ``a,loss`` (a cut) or ``a,b,loss`` (a slice), the last column named
    by :func:`value_column` for a component other than the total."""
    path = _writable(path)
    column = value_column(landscape.component)

    def write_rows(writer):
        if landscape.betas is None:
            writer.writerow(["a", column])
            writer.writerows(zip(map(repr, landscape.alphas.tolist()), map(repr, landscape.values.tolist())))
        else:
            writer.writerow(["a", "b", column])
            for j, b in enumerate(landscape.betas.tolist()):
                for i, a in enumerate(landscape.alphas.tolist()):
                    writer.writerow([repr(a), repr(b), repr(float(landscape.values[j, i]))])

    _write_csv(path, write_rows, "landscape file")
    return path


TRAJECTORY_ARRAYS = ("steps", "loss", "batch_loss", "train_acc", "val_acc", "grad_norm", "step_length", "lr")


def save_trajectories_csv(path, trajectories, with_data=False):
    """One row per recorded step: ``step,loss,theta_0..theta_{P-1}`` and, for data sets,
    ``batch_loss,train_acc,val_acc,grad_norm``. Several trajectories (a race) get a
    leading ``method`` column."""
    path = _writable(path)
    race = len(trajectories) > 1
    size = int(np.prod(trajectories[0].thetas.shape[1:]))
    header = (["method"] if race else []) + ["step", "loss"] + [f"theta_{k}" for k in range(size)]
    if with_data:
        header += ["batch_loss", "train_acc", "val_acc", "grad_norm"]

    def write_rows(writer):
        writer.writerow(header)
        for trajectory in trajectories:
            flat = trajectory.thetas.reshape(trajectory.thetas.shape[0], -1)
            for r in range(trajectory.steps.size):
                row = ([trajectory.label] if race else []) + [int(trajectory.steps[r]), repr(float(trajectory.loss[r]))]
                row += [repr(float(v)) for v in flat[r]]
                if with_data:
                    row += [repr(float(getattr(trajectory, k)[r])) for k in ("batch_loss", "train_acc", "val_acc",
                                                                             "grad_norm")]
                writer.writerow(row)

    _write_csv(path, write_rows, "trajectory file")
    return path


def save_trajectories_npz(path, trajectories, meta: dict):
    """Arrays ``steps``, ``theta`` (rows x parameter shape), ``loss``, ``batch_loss``,
    ``train_acc``, ``val_acc``, ``grad_norm``, ``step_length``, ``lr`` and ``meta``; for a
    race every array gets the suffix ``_k`` (k = 0, 1, ...) and ``methods`` lists the labels."""
    path = _writable(path)
    race = len(trajectories) > 1
    arrays = {}
    runs = []
    for k, trajectory in enumerate(trajectories):
        suffix = f"_{k}" if race else ""
        arrays["theta" + suffix] = trajectory.thetas
        for name in TRAJECTORY_ARRAYS:
            arrays[name + suffix] = getattr(trajectory, name)
        runs.append({"label": trajectory.label, "method": trajectory.method, "diverged_at": trajectory.diverged_at,
                     "escaped_at": trajectory.escaped_at, "loss_evaluations": trajectory.loss_evaluations})
    if race:
        arrays["methods"] = np.array([t.label for t in trajectories])
    arrays["meta"] = np.array(json.dumps({**meta, "runs": runs}, default=_jsonable))
    _write_npz(path, arrays, "trajectory file")
    return path


def save_curvature_npz(path, report, meta: dict, objective=None, save_data=False):
    """The Hessian's spectrum (core.labs.tasks.CurvatureReport) as .npz: ``eigenvalues``
    (the largest, descending, then the smallest, ascending), ``residuals``, ``kinds``
    ("top"/"bottom"), ``theta`` (the point, in the parameter shape), ``meta`` (JSON), the
    density (``density_grid``, ``density``) when computed, and with ``save_data`` the
    design matrix ``X`` (bias column included, as render's) and labels ``y``."""
    path = _writable(path)
    arrays = {"eigenvalues": np.concatenate([report.top, report.bottom]),
              "residuals": np.concatenate([report.top_residuals, report.bottom_residuals]),
              "kinds": np.array(["top"] * report.top.size + ["bottom"] * report.bottom.size),
              "theta": np.asarray(report.theta), "meta": np.array(json.dumps(meta, default=_jsonable))}
    if report.density is not None:
        arrays["density_grid"], arrays["density"] = report.density.grid, report.density.density
    if save_data:
        arrays.update(_data_arrays(objective))
    _write_npz(path, arrays, "spectrum file")
    return path


def save_curvature_csv(path, report):
    """One row per eigenvalue: ``kind,index,eigenvalue,residual``."""
    path = _writable(path)

    def write_rows(writer):
        writer.writerow(["kind", "index", "eigenvalue", "residual"])
        for kind, values, residuals in (("top", report.top, report.top_residuals),
                                        ("bottom", report.bottom, report.bottom_residuals)):
            for k, (value, residual) in enumerate(zip(values.tolist(), residuals.tolist())):
                writer.writerow([kind, k, repr(value), repr(residual)])

    _write_csv(path, write_rows, "spectrum file")
    return path
