"""The app's observable state: what is selected, what was computed, what is playing.

Panels edit the state through its setters; the state asks core for work through
:class:`~gui.workers.JobSlots`; results land here and views redraw from the state when it
signals. Only what depends on a change is recomputed:

* data set / preprocessing / split / loss / delta: rebuild the objective, the centre and
  plane, the slice, the cut and every run;
* regularization (kind, lambda, beta, bias): a new objective on the same data; the centre
  is kept (Retrain moves it), only the regularization grid is recomputed and added to the
  cached data grid; the cut and the runs are redone;
* centre / directions / seed of the plane: the plane, the slice, the cut and the runs;
* range / grid / component, and a network's batch-norm and dropout modes: the slice and
  the cut (with gradient directions the modes choose the plane too: its descent direction
  is the gradient of the surface shown);
* one optimizer's settings: only that optimizer's run.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
from PyQt6 import QtCore

from hillwalk.core import experiment
from hillwalk.core.errors import HillwalkError
from hillwalk.core.io.session import (
    OptimizerSetting,
    RaceSettings,
    Session,
    ViewSettings,
    default_race_optimizers,
    view_from_dict,
)
from hillwalk.core.landscapes.directions import Plane
from hillwalk.core.landscapes.landscape import Landscape
from hillwalk.core.landscapes.slices import CenterPoint, CenterRegularization, SliceSpec
from hillwalk.core.limits import RANGES, check
from hillwalk.core.models.interface import check_settings
from hillwalk.core.models.problem import ClassifierSpec, parse_widths
from hillwalk.core.optimization.optimizers import OptimizerSpec
from hillwalk.core.optimization.paths import PathRecord, TurnGate

from .contours import landscape_contours
from .figures import PALETTE
from .lab_state import LabState
from .workers import JobSlots

REGULARIZATION_FIELDS = ("regularizer", "lam", "beta", "regularize_bias")
PLANE_FIELDS = ("center", "train_steps", "init_scale", "directions", "orthogonalize", "coords", "seed", "cut")
# How a network with batch norm or dropout is sliced (SliceSpec); a change recomputes the
# slice and the cut on the same plane.
MODE_FIELDS = ("bn_mode", "dropout_mode")
RUN_GATE_SIZE = 1
# Grids up to this many points have their contours traced in the job that computed them
# after a regularization change (milliseconds), instead of in a job of their own.
QUICK_CONTOURS_POINTS = 401 * 401
FRAME_INTERVAL_MS = 33   # streamed results reach the views at most once a frame (30 per second)
# The first pieces of runs restarted together wait at most this long for one another.
FIRST_PIECES_WAIT_MS = FRAME_INTERVAL_MS
HOLD_OFF_S = 0.25        # the longest a visible job keeps the race's runs waiting (see _start_first)
# A race's runs post their new rows at most this often (the core's default is every 50 ms;
# a run's first piece still comes at once): each post is a redraw of the views, and on a
# loaded machine those redraws held the interpreter the runs need. The animation plays 30
# to 300 steps a second (1 to 10 a frame), behind a linear run's pace (about 3000 a
# second); a slow run's newest steps reach the views in steps of 100 ms instead of 50.
RUN_POST_INTERVAL_S = 0.1


@dataclass
class OptimizerEntry:
    """One optimizer of the race, as the Optimizers panel shows it."""

    id: int
    spec: OptimizerSpec
    color: str
    enabled: bool = True


class RunResult(PathRecord):
    """One method's path as the views need it, in plane coordinates (see
    :class:`core.optimization.paths.PathRecord`: ``steps``, ``a``, ``b``, ``off_plane``,
    ``loss``, ``batch_loss``, ``train_acc``, ``val_acc``, ``grad_norm`` share their length),
    grown by the increments its worker streams."""

    def __init__(self, entry_id: int, label: str, plane, in_plane: bool, method: str = ""):
        super().__init__(plane, in_plane, label, method)
        self.entry_id = entry_id


def default_optimizers():
    return [OptimizerEntry(k + 1, o.spec, o.color) for k, o in enumerate(default_race_optimizers())]


class AppState(QtCore.QObject):
    """Settings, results and playback of the whole window."""

    problem_changed = QtCore.pyqtSignal()      # the problem spec (panels resync to it)
    slice_changed = QtCore.pyqtSignal()        # the slice spec
    view_changed = QtCore.pyqtSignal()         # colours, cut, curve options
    optimizers_changed = QtCore.pyqtSignal()   # entries added, removed, edited
    race_changed = QtCore.pyqtSignal()         # race settings
    objective_ready = QtCore.pyqtSignal()
    plane_ready = QtCore.pyqtSignal()
    landscape_ready = QtCore.pyqtSignal(bool)  # True when final, False for a partial or preview
    cut_ready = QtCore.pyqtSignal()
    contours_ready = QtCore.pyqtSignal(object, object)  # landscape, ContourLines (gui.contours)
    # a, b, eigenvalues (2,) of the plane's Hessian there (the readout's local curvature)
    point_curvature_ready = QtCore.pyqtSignal(float, float, object)
    # owner, {name: (landscape, log_scale, count, ContourLines)}: a lab's figures' lines
    figure_contours_ready = QtCore.pyqtSignal(str, object)
    runs_updated = QtCore.pyqtSignal()
    frame_changed = QtCore.pyqtSignal(int)
    playing_changed = QtCore.pyqtSignal(bool)
    status = QtCore.pyqtSignal(str)
    error = QtCore.pyqtSignal(str)
    progress = QtCore.pyqtSignal(str, float)   # text, fraction (1.0 when idle)
    busy_changed = QtCore.pyqtSignal(bool)
    session_opened = QtCore.pyqtSignal(str)    # a session's settings took effect (its file, or "")

    def __init__(self, parent=None, problem: ClassifierSpec | None = None, slice_spec: SliceSpec | None = None):
        super().__init__(parent)
        self.problem = problem or ClassifierSpec()
        self.slice = slice_spec or SliceSpec()
        self.view = ViewSettings()
        self.race = RaceSettings()
        self.optimizers: list[OptimizerEntry] = default_optimizers()
        self._next_entry_id = len(self.optimizers) + 1
        self.objective = None
        self.plane: Plane | None = None
        self.landscape: Landscape | None = None
        self.preview: Landscape | None = None   # a coarse grid shown while the slice computes
        self.data_values = None          # cached data component when the slice shows the total
        self.cut: Landscape | None = None
        self.runs: dict[int, RunResult] = {}
        self.custom_center = None        # (label, theta, entry id): an optimizer's position as the centre
        # the regularization the plane's centre and directions were found under, where it is
        # not the problem's (a regularization change keeps the plane); a saved session
        # records it as its slice's center_regularization, so that it opens on this plane
        self._center_regularization: CenterRegularization | None = None
        self._pending_center_regularization = None   # ... the one a problem job finds its plane with
        # a restored session's centre on a method's position (a CenterPoint), which the problem
        # job centres its plane on and which becomes custom_center when it lands
        self._pending_center_point = None
        self._pending_regularization = None          # the proposal of a regularization job on its way
        self.frame = 0
        self.playing = True
        self.jobs = JobSlots(self)
        self.jobs.progress.connect(self._on_job_progress)
        self.jobs.partial.connect(self._on_job_partial)
        self.jobs.finished.connect(self._on_job_finished)
        self.jobs.failed.connect(self._on_job_failed)
        self.jobs.busy_changed.connect(self.busy_changed)
        self._pending_problem = None
        self._switching_objective = False
        self._interrupted = set()   # jobs a data request stopped (redone if the data is refused)
        # The race's runs take turns chunk by chunk (a few ms each): they advance side by
        # side, yet only RUN_GATE_SIZE of them compete with the GUI thread for the
        # interpreter at once (with four, the GUI thread got a fifth of it: 300 ms gaps).
        # In turn (TurnGate): each run's first segment appears within a few chunks.
        self._run_gate = TurnGate(RUN_GATE_SIZE)
        self._runs_update_timer = QtCore.QTimer(self)
        self._runs_update_timer.setSingleShot(True)
        self._runs_update_timer.setInterval(FRAME_INTERVAL_MS)
        self._runs_update_timer.timeout.connect(self._emit_runs_updated)
        # The figures redraw an optimizers change (a label, a colour, one more or fewer)
        # with the runs, at most a frame later or at once with a restarted run's first piece:
        # redrawn at once as well, every legend was laid out twice for one change (a
        # learning rate typed in: 10 ms, then again 5 ms later with the new path).
        self.optimizers_changed.connect(self._runs_changed)
        self.labs = LabState(self)
        # the opened session's title and caption (a preset's paragraph, shown by the window)
        # and its scene, which they describe (see session())
        self.title, self.caption, self._opened_scene = "", "", None
        self._readout_objective = None   # (objective, plane, modes, objective in those modes)

    # ================================================================= setters (panels call these)
    def start(self):
        """Compute the initial scene (on the plane a restored session recorded)."""
        self._request_problem(self.problem, center_regularization=self._center_regularization,
                              center_point=self._center_point())

    def set_problem(self, **changes):
        """Change data or model settings (fields of ClassifierSpec); a setting the
        objective cannot honour is refused with one message."""
        # A change made while the previous one builds (type the widths, then tick batch
        # norm at once) extends it instead of dropping it: the network has many fields.
        base = self._pending_problem if self.jobs.is_live("problem") and self._pending_problem is not None \
            else self.problem
        if base is self.problem and self.jobs.is_live("reg") and self._pending_regularization is not None:
            # a regularization change on its way: the next one extends it (L1, then a lambda)
            base = self._pending_regularization
        try:
            proposed = replace(base, **changes)
            check_settings(self.objective, problem=proposed,
                           changed=[f for f, v in changes.items() if v != getattr(base, f)])
        except HillwalkError as error:
            self._reject(str(error))
            return
        if proposed == base:
            return
        only_regularization = base in (self.problem, self._pending_regularization) and all(
            getattr(proposed, f) == getattr(self.problem, f)
            for f in ClassifierSpec.__dataclass_fields__ if f not in REGULARIZATION_FIELDS)
        if only_regularization and self.objective is not None and self.landscape is not None:
            self._request_regularization(proposed)
        else:
            self._request_problem(proposed)

    def set_hidden_layers(self, text: str):
        """The hidden layers typed as a comma list of widths ("100, 100"); text that is not
        one, or widths the spec refuses (range, depth, skip connections), give one message
        and nothing changes."""
        try:
            widths = parse_widths(text)
        except HillwalkError as error:
            self._reject(str(error))
            return
        self.set_problem(hidden=widths)

    def set_slice(self, **changes):
        """Change the slice (fields of SliceSpec); a setting the objective cannot honour
        (a data component of a 2-D function, its centre or directions) is refused."""
        try:
            proposed = replace(self.slice, **changes)
            check_settings(self.objective, slice_spec=proposed,
                           changed=[f for f, v in changes.items() if v != getattr(self.slice, f)])
        except HillwalkError as error:
            self._reject(str(error))
            return
        if proposed == self.slice:
            return
        plane_changed = any(getattr(proposed, f) != getattr(self.slice, f) for f in PLANE_FIELDS)
        if proposed.directions == "gradient" and any(getattr(proposed, f) != getattr(self.slice, f)
                                                     for f in MODE_FIELDS):
            plane_changed = True  # the descent direction is the gradient in the slice's modes
        if proposed.center != self.slice.center:
            self.custom_center = self._pending_center_point = None
        self.slice = proposed
        self.slice_changed.emit()
        if self.objective is None:
            return
        if plane_changed or self.plane is None:
            self._request_plane()
        else:
            self._request_slice()
            self._request_cut()

    def retrain_center(self):
        """Recompute the centre (and so the plane) for the current objective."""
        if self.objective is not None:
            self.custom_center = None
            self.slice_changed.emit()
            self._request_plane()

    def center_on_run(self, entry_id: int):
        """Center the slice on a method's position at the current step."""
        run = self.runs.get(entry_id)
        if run is None or run.steps.size == 0:
            self._reject("that method has no recorded position yet; wait for its run")
            return
        row = max(0, min(int(np.searchsorted(run.steps, self.frame, side="right")) - 1, run.steps.size - 1))
        self.custom_center = (f"{run.label} at step {int(run.steps[row])}", run.theta_at(row), entry_id)
        self.slice_changed.emit()
        self._request_plane()

    def set_view(self, **changes):
        try:
            proposed = replace(self.view, **changes)
        except HillwalkError as error:
            self._reject(str(error))
            return
        if proposed == self.view:
            return
        cut_changed = any(getattr(proposed, f) != getattr(self.view, f) for f in ("cut_mode", "cut_angle", "cut_points"))
        contours_changed = proposed.log_scale != self.view.log_scale or proposed.contours != self.view.contours
        self.view = proposed
        self.view_changed.emit()
        if cut_changed:
            self._request_cut()
        if contours_changed:
            self.request_contours()

    def set_race(self, **changes):
        try:
            proposed = replace(self.race, **changes)
        except HillwalkError as error:
            self._reject(str(error))
            return
        if proposed == self.race:
            return
        for name, value in changes.items():
            if name == "steps" and (int(value) != value or not 1 <= value <= 100000):
                self._reject(f"the number of steps must be a whole number from 1 to 100000, got {value}")
                return
            if name == "start" and not all(math.isfinite(v) for v in value):
                self._reject("the start point must be finite")
                return
        if self.objective is not None and not self.runs_in_plane(proposed):
            try:   # leaving the plane: every method must work in the full space (saddle-free Newton's size)
                for entry in self.optimizers:
                    if entry.enabled and entry.spec.saddle_free and entry.spec.info.applies("saddle_free"):
                        check_settings(self.objective, optimizer=entry.spec, changed=["saddle_free"])
            except HillwalkError as error:
                self._reject(str(error))
                return
        self.race = proposed
        self.race_changed.emit()
        self._restart_runs()

    def runs_in_plane(self, race) -> bool:
        """Whether the runs of ``race`` optimize over the slice's (a, b) only."""
        plane = self.plane
        return bool(race.in_plane and plane is not None and plane.dir2 is not None
                    and self.objective is not None and not self.objective.has_own_plane)

    def choose_objective(self, name: str):
        """Switch between the classifier on data and a 2-D test function; a function
        brings its own view range, start point and color scale (taken when it is built,
        in the worker)."""
        if name == self.problem.objective:
            return
        try:
            problem = replace(self.problem, objective=name)
        except HillwalkError as error:
            self._reject(str(error))
            return
        self._request_problem(problem, switching_objective=True)

    def _adopt_objective_defaults(self, objective):
        """The view range, start and color scale that suit a newly chosen objective."""
        if objective.has_own_plane:  # a 2-D function
            (x0, x1), (y0, y1) = objective.view
            self.slice = replace(self.slice, alpha_range=(x0, x1), beta_range=(y0, y1), component="total")
            self.race = replace(self.race, start=tuple(float(v) for v in objective.default_start), in_plane=False)
            self.view = replace(self.view, log_scale=objective.bounded_below)
        else:
            self.slice = replace(self.slice, alpha_range=(-1.0, 1.0), beta_range=(-1.0, 1.0))
            default_race = RaceSettings()
            self.race = replace(self.race, start=default_race.start, in_plane=default_race.in_plane)
            self.view = replace(self.view, log_scale=False)
        self.slice_changed.emit()
        self.race_changed.emit()
        self.view_changed.emit()

    def set_start(self, a: float, b: float):
        """The common start of every path: ``centre + a d1 + b d2`` (a click on the heatmap)."""
        self.set_race(start=(float(a), float(b)))

    def add_optimizer(self, spec: OptimizerSpec | None = None) -> OptimizerEntry:
        used = {e.color for e in self.optimizers}
        color = next((c for c in PALETTE if c not in used), PALETTE[len(self.optimizers) % len(PALETTE)])
        entry = OptimizerEntry(self._next_entry_id, spec or OptimizerSpec("adam", lr=0.003, batch_size=64), color)
        self._next_entry_id += 1
        self.optimizers.append(entry)
        self.optimizers_changed.emit()
        self._restart_run(entry)
        return entry

    def remove_optimizer(self, entry_id: int):
        self.optimizers = [e for e in self.optimizers if e.id != entry_id]
        self.jobs.cancel(f"run:{entry_id}")
        self.runs.pop(entry_id, None)
        self.optimizers_changed.emit()
        self.runs_updated.emit()

    def update_optimizer(self, entry_id: int, spec: OptimizerSpec | None = None, enabled: bool | None = None,
                         color: str | None = None):
        entry = self.entry(entry_id)
        if entry is None:
            return
        if spec is not None and self.objective is not None:
            try:
                check_settings(self.objective, optimizer=spec,
                               changed=[f for f in spec.__dataclass_fields__ if getattr(spec, f) != getattr(entry.spec, f)],
                               in_plane=self.runs_in_plane(self.race))
            except HillwalkError as error:
                self._reject(str(error))
                return
        rerun = False
        if spec is not None and spec != entry.spec:
            entry.spec, rerun = spec, True
        if enabled is not None and enabled != entry.enabled:
            entry.enabled, rerun = enabled, True
        if color is not None:
            entry.color = color
        self.optimizers_changed.emit()
        if rerun:
            self._restart_run(entry)
        else:
            self.runs_updated.emit()

    def entry(self, entry_id: int) -> OptimizerEntry | None:
        return next((e for e in self.optimizers if e.id == entry_id), None)

    # ================================================================= playback
    @property
    def available_frames(self) -> int:
        """The last step every enabled, running method has reached (the animation's reach)."""
        lengths = [int(r.steps[-1]) if r.steps.size else 0 for r in self.runs.values()
                   if not (r.diverged_at is not None or r.finished)]
        finished = [int(r.steps[-1]) if r.steps.size else 0 for r in self.runs.values()
                    if r.diverged_at is not None or r.finished]
        if lengths:
            return min(lengths)
        return max(finished, default=0)

    @property
    def max_frame(self) -> int:
        return max([int(r.steps[-1]) for r in self.runs.values() if r.steps.size], default=0)

    def set_frame(self, frame: int):
        frame = int(max(0, min(frame, self.race.steps)))
        if frame != self.frame:
            self.frame = frame
            self.frame_changed.emit(frame)

    def set_playing(self, playing: bool):
        if playing != self.playing:
            self.playing = playing
            self.playing_changed.emit(playing)

    def reset_playback(self):
        self.set_frame(0)

    def refuse_value(self, name: str, value: float, box_low: float | None = None, box_high: float | None = None):
        """A number typed outside its box's range (the range of ``core.limits.RANGES[name]``,
        an open end one display step inside): one message with the valid range; nothing changes."""
        try:
            check(name, value)
        except HillwalkError as error:
            self._reject(str(error))
            return
        valid = RANGES[name]
        shown = f" ({box_low:g} to {box_high:g})" if box_low is not None else ""
        self._reject(f"{valid.what} of {value:g} is valid but finer than its box shows{shown}; set it in a session "
                     "file")

    # ================================================================= computations
    def _reject(self, message):
        """One error message; every setting stays as it was and the panels resync to it."""
        self.error.emit(message)
        self.problem_changed.emit()
        self.slice_changed.emit()
        self.view_changed.emit()
        self.race_changed.emit()
        self.optimizers_changed.emit()

    def _request_problem(self, proposed: ClassifierSpec, switching_objective: bool = False,
                         center_regularization: CenterRegularization | None = None,
                         center_point: CenterPoint | None = None):
        """Build ``proposed``'s objective and find its plane in a worker; the plane is found
        for ``proposed`` unless ``center_regularization`` (a restored session's record), and
        centred on ``center_point`` where given (a restored session's method position)."""
        self._pending_problem = proposed
        self._switching_objective = switching_objective
        self._pending_center_regularization = center_regularization
        self._pending_center_point = center_point
        if self.jobs.is_live("session"):  # the newer request wins, and says so
            self.status.emit("Opening the session was stopped by the change of data or model; open it again to "
                             "use it")
        # the scene's work stops while the data loads; if the data is refused it is redone
        self._interrupted = set(self.jobs.live) - {"problem", "session"}
        self.jobs.cancel_all()
        spec = replace(self.slice, center_regularization=center_regularization, center_point=center_point)

        def job(report, should_stop):
            return objective_and_plane(proposed, spec, report, should_stop=should_stop)

        self.progress.emit("loading data", 0.0)
        self.jobs.start("problem", job)

    def _request_regularization(self, proposed: ClassifierSpec):
        self._pending_regularization = proposed
        old = self.objective
        plane, spec, landscape, data_values = self.plane, self.slice, self.landscape, self.data_values
        self.jobs.cancel("slice")
        self.jobs.cancel("reg")

        view = self.view

        def job(report, should_stop):
            objective = experiment.rebuild_regularization(proposed, old)
            report(0.3, "regularization term")
            # the slice's new values from the cached data grid in the same job: one trip
            # through the worker pool to the screen instead of two (None: compute it after);
            # and its contours when they take milliseconds (up to 401 x 401)
            scene = experiment.recompute_regularization(
                objective, plane, experiment.SceneSlice(landscape, data_values), spec.component,
                int(spec.budget_mb * 2 ** 20), should_stop) if landscape is not None and plane is not None else None
            quick = scene is not None and scene.landscape.values.size <= QUICK_CONTOURS_POINTS
            traced = traced_contours(scene, landscape, view, should_stop) if quick else None
            return proposed, objective, landscape, (scene, traced)

        self._start_first("reg", job)

    def _request_plane(self):
        if self.jobs.is_live("problem"):
            # new data or model is on its way: its plane is found with these slice settings
            # (a plane job on the old objective landed after it: the old model's plane on
            # the new one, "cannot reshape" and no runs)
            self._request_problem(self._pending_problem, self._switching_objective,
                                  self._pending_center_regularization, self._pending_center_point)
            return
        if self.jobs.is_live("session"):
            return   # (the session opening brings its own slice and plane)
        objective, spec, problem = self.objective, self.slice, self.problem
        label, theta = self.custom_center[:2] if self.custom_center is not None else (None, None)
        self.jobs.cancel("slice")
        self.jobs.cancel("cut")
        self.jobs.cancel_matching("run:")

        def job(report, should_stop):
            # (with the regularization it is found under: a change of it may land meanwhile)
            return experiment.build_plane(objective, spec, theta, label, report, should_stop), problem

        self.jobs.start("plane", job)

    def _request_slice(self):
        objective, plane, spec = self.objective, self.plane, self.slice
        if objective is None or plane is None:
            return

        def job(report, should_stop):
            return experiment.compute_scene_slice(objective, plane_in_modes(objective, plane, spec), spec, report,
                                                  should_stop)

        self._start_first("slice", self._then_contours(job))

    def _then_contours(self, slice_job):
        """``slice_job`` (returning a SceneSlice or None), then, in the same worker, the
        contours of its slice for the view's colour scale and line count as they are now:
        a new slice is posted as soon as it is done (shown at once) and its contours follow
        without a second trip through the worker pool. Returns (scene, traced_contours)."""
        view, shown = self.view, self.landscape

        def job(report, should_stop):
            scene = slice_job(report, should_stop)
            if scene is not None and scene.landscape is not shown:
                report(1.0, "contour lines", partial=("slice", scene))
            return scene, traced_contours(scene, shown, view, should_stop)

        return job

    def _show_scene(self, scene):
        """Make ``scene`` (a SceneSlice) the landscape on screen."""
        self.landscape, self.data_values = scene.landscape, scene.data_values
        self.preview = None
        self.landscape_ready.emit(True)

    def _request_reg_only(self):
        """After a regularization change: total = cached data grid + new regularization grid."""
        objective, plane, spec, landscape = self.objective, self.plane, self.slice, self.landscape
        if landscape is None:
            return self._request_slice()
        scene = experiment.SceneSlice(landscape, self.data_values)
        if str(spec.component) == "total" and self.data_values is None:
            return self._request_slice()

        def job(report, should_stop):
            return experiment.recompute_regularization(objective, plane, scene, spec.component,
                                                       int(spec.budget_mb * 2 ** 20), should_stop)

        self._start_first("slice", self._then_contours(job))

    def request_contours(self):
        """Trace the contours of the current landscape in a worker (a few milliseconds on
        a 401 x 401 grid, seconds on a rugged 2001 x 2001 one with 100 levels)."""
        landscape, view = self.landscape, self.view
        if landscape is None or landscape.betas is None:
            return

        def job(report, should_stop):
            return landscape, landscape_contours(landscape, view.log_scale, view.contours, should_stop)

        self._start_first("contours", job)

    def request_figure_contours(self, owner: str, landscapes: dict):
        """Trace the contour lines of a lab's figures (``landscapes``: name -> 2-D
        Landscape) for the current view in a worker, like the heatmap's: a lab's slice can be
        as large as the main one (2001 x 2001, 100 levels: seconds of tracing). A new request
        of the same ``owner`` cancels the stale one; the lines arrive with
        ``figure_contours_ready``."""
        log_scale, count = self.view.log_scale, self.view.contours

        def job(report, should_stop):
            traced = {}
            for name, landscape in landscapes.items():
                lines = landscape_contours(landscape, log_scale, count, should_stop)
                if lines is None:
                    return None
                traced[name] = (landscape, log_scale, count, lines)
            return owner, traced

        self.jobs.start(f"figure-contours:{owner}", job)

    def request_point_curvature(self, a: float, b: float):
        """The slice's principal curvatures at (a, b): the eigenvalues of the plane's 2 x 2
        Hessian there (core.curvature.plane_hessian, in the slice's modes), computed in a
        worker; a newer request cancels the stale one. The result comes with
        ``point_curvature_ready(a, b, eigenvalues)``."""
        objective, plane, spec = self.objective, self.plane, self.slice
        if objective is None or plane is None or plane.dir2 is None or not callable(getattr(objective, "hvp", None)):
            return

        def job(report, should_stop):
            from hillwalk.core.curvature import plane_hessian

            # the objective in the slice's modes, made once per scene, not once per mouse move
            # (batch norm's eval mode estimates the centre's statistics in a full pass)
            modes = spec.modes()
            cached = self._readout_objective
            if cached is not None and cached[0] is objective and cached[1] is plane and cached[2] == modes:
                sliced = cached[3]
            else:
                sliced = spec.objective_in_modes(objective, plane.center)
                self._readout_objective = (objective, plane, modes, sliced)   # one assignment: atomic
            hessian = plane_hessian(sliced, plane.point(a, b), plane.dir1, plane.dir2)
            return float(a), float(b), np.linalg.eigvalsh(hessian)

        self.jobs.start("point_curvature", job)

    def cut_line(self):
        """(start (a, b), direction (a, b), s range) of the 1-D cut in plane coordinates."""
        geometry = experiment.cut_geometry(self.slice, self.view.cut_mode, self.view.cut_angle, self.view.cut_points)
        return geometry.origin, geometry.direction, geometry.s_range

    def _request_cut(self):
        objective, plane, spec = self.objective, self.plane, self.slice
        if objective is None or plane is None or plane.dir2 is None:
            return
        geometry = experiment.cut_geometry(spec, self.view.cut_mode, self.view.cut_angle, self.view.cut_points)

        def job(report, should_stop):
            return experiment.compute_cut(objective, plane, spec, geometry, should_stop)

        self._start_first("cut", job)

    def _start_first(self, kind, job):
        """Start a job that draws what the user is looking at (the slice, its contours, the
        cut, the regularization they need) ahead of the race's runs: the runs' turns are
        held off until the job posts its first visible piece (a preview), ends, or has run
        for HOLD_OFF_S. The runs then share the cores again, so a long slice does not keep
        the paths away."""
        gate = self._run_gate

        def first(report, should_stop):
            release = gate.hold_off()
            started = time.monotonic()

            def report_and_release(fraction, text="", partial=None, force=False):
                if partial is not None or time.monotonic() - started > HOLD_OFF_S:
                    release()
                return report(fraction, text, partial, force)

            try:
                return job(report_and_release, should_stop)
            finally:
                release()

        self.jobs.start(kind, first)

    def _restart_runs(self):
        self.jobs.cancel_matching("run:")
        self.runs.clear()
        self.set_frame(0)
        for entry in self.optimizers:
            self._restart_run(entry, notify=False)
        self._runs_changed()
        self.set_playing(True)  # a restarted race plays: its paths appear without a key press

    def _restart_run(self, entry: OptimizerEntry, notify=True):
        self.jobs.cancel(f"run:{entry.id}")
        self.runs.pop(entry.id, None)
        if not entry.enabled or self.objective is None or self.plane is None:
            if notify:
                self._runs_changed()
            return
        objective, plane, race, spec = self.objective, self.plane, self.race, entry.spec
        label = run_label(spec, has_data=objective.has_data)
        self.runs[entry.id] = RunResult(entry.id, label, plane, race.in_plane and plane.dir2 is not None, spec.method)

        def job(report, should_stop):
            return experiment.stream_run(objective, plane, race, spec, label, report, should_stop,
                                         interval_s=RUN_POST_INTERVAL_S, gate=self._run_gate)

        self.jobs.start(f"run:{entry.id}", job)
        if notify:
            self._runs_changed()

    def _runs_changed(self):
        """Tell the views the runs changed, at most once a frame: increments arrive from
        several workers, each at most every 50 ms, and are merged into one redraw."""
        if not self._runs_update_timer.isActive():
            self._runs_update_timer.start()

    @property
    def views_current(self) -> bool:
        """True when the views have been told of every increment that has arrived (no
        merged redraw is waiting for its frame)."""
        return not self._runs_update_timer.isActive()

    def _emit_runs_updated(self):
        started = time.perf_counter()
        self.runs_updated.emit()
        # The views update their items here; Qt paints them afterwards, which costs about as
        # much again (measured: 140 ms of updates, 185 ms of painting, long runs on a loaded
        # machine). Wait three times the update before the next one, so the GUI thread stays
        # idle for input about half the time, whatever the paths' length and the machine.
        spent_ms = (time.perf_counter() - started) * 1000.0
        self._runs_update_timer.setInterval(max(FRAME_INTERVAL_MS, min(int(3 * spent_ms), 1000)))

    def _append_increment(self, kind, increment):
        entry_id = int(kind.split(":", 1)[1])
        run = self.runs.get(entry_id)
        if run is None or increment is None:
            return
        was_ended, was_empty = run.ended, len(run.a) == 0
        run.extend(increment)
        if was_empty and self._first_pieces_pending():
            # runs restarted together (a click, a new problem) arrive a few ms apart: their
            # first pieces are shown in one redraw, when the last is in or a frame after the
            # first, not one redraw each (each delayed the next by a redraw and a paint)
            timer = self._runs_update_timer
            if not timer.isActive() or timer.remainingTime() > FIRST_PIECES_WAIT_MS:
                timer.start(FIRST_PIECES_WAIT_MS)
        elif (run.ended and not was_ended) or was_empty:
            # a run's first piece is shown at once (the change the user made becomes
            # visible), and its end (finished, diverged, escaped) changes the legend's
            # text: tell the views now, not a frame later (twice per run at most)
            self._runs_update_timer.stop()
            self._emit_runs_updated()
        else:
            self._runs_changed()

    def _first_pieces_pending(self) -> bool:
        """Whether a run still computing has shown nothing yet (its first piece is coming)."""
        return any(len(run.a) == 0 and not run.ended and self.jobs.is_live(f"run:{entry_id}")
                   for entry_id, run in self.runs.items())

    # ================================================================= job results
    def _on_job_progress(self, kind, fraction, text):
        self.progress.emit(f"computing: {text or kind}", fraction)

    def _on_job_partial(self, kind, partial):
        if kind == "slice":
            if partial[0] == "preview":
                self.preview = partial[1]
                self.landscape_ready.emit(False)
            elif partial[0] == "slice":
                self._show_scene(partial[1])
            return
        if kind.startswith("run:"):
            self._append_increment(kind, partial)

    def _on_job_finished(self, kind, result):
        if kind == "session":
            session, view, objective, plane, source = result
            self._adopt_session(session, view)
            self._adopt_objective(objective, plane)
            self.session_opened.emit(source)
        elif kind == "problem":
            objective, plane = result
            self.problem = self._pending_problem
            # the plane was found for this problem (or, restored, as a session recorded)
            self._center_regularization = self._pending_center_regularization
            # an optimizer's position on the old objective means nothing now; a restored
            # session's is the centre its plane was found on
            self.custom_center = self._custom_center_of(self._pending_center_point)
            self._pending_center_point = None
            if self._switching_objective:
                self._switching_objective = False
                self._adopt_objective_defaults(objective)
            self.problem_changed.emit()
            self._adopt_objective(objective, plane)
        elif kind == "reg":
            proposed, objective, based_on, (scene, traced) = result
            # the plane is kept: it stays the one found under the regularization before
            kept = self._center_regularization or CenterRegularization.of(self.problem)
            self._center_regularization = CenterRegularization.record(kept, proposed)
            self._pending_regularization = None
            self.problem, self.objective = proposed, objective
            if scene is not None and based_on is self.landscape and not self.jobs.is_live("slice"):
                # what is on screen first, then the rest: the panels' rules and the views'
                # arrangements for the new objective (the same kind of objective) follow
                self._on_job_finished("slice", (scene, traced))
            else:   # the slice changed meanwhile (or had no data grid): compute it now
                self._request_reg_only()
            self.problem_changed.emit()
            self.objective_ready.emit()
            self.status.emit("Regularization changed: the center is kept (Retrain center moves it to the new minimum)")
            self._request_cut()
            self._restart_runs()
        elif kind == "plane":
            plane, problem = result
            self._center_regularization = CenterRegularization.record(CenterRegularization.of(problem), self.problem)
            self._adopt_plane(plane)
        elif kind == "slice":
            scene, traced = result
            if scene is None:
                return
            new = scene.landscape is not self.landscape   # not posted before its contours
            if new:
                self._show_scene(scene)
            if traced is not None and traced[:2] == (self.view.log_scale, self.view.contours):
                self.jobs.cancel("contours")   # a stale one, of the slice before
                self.contours_ready.emit(scene.landscape, traced[2])
            elif traced is not None or new:
                self.request_contours()   # lines for another view, or none traced yet (a cut: none)
            self.progress.emit("ready", 1.0)
        elif kind == "contours":
            self.contours_ready.emit(*result)
        elif kind.startswith("figure-contours:"):
            if result is not None:
                self.figure_contours_ready.emit(*result)
        elif kind == "cut":
            if result is not None:
                self.cut = result
                self.cut_ready.emit()
        elif kind == "point_curvature":
            if result is not None:
                a, b, eigenvalues = result
                self.point_curvature_ready.emit(a, b, eigenvalues)
        elif kind.startswith("run:"):
            self._append_increment(kind, result)

    def _adopt_objective(self, objective, plane):
        """A newly built objective and its plane take effect; the slice, cut and runs follow."""
        self.jobs.cancel("plane")   # (one found meanwhile on the old objective means nothing now)
        self.objective = objective
        self.objective_ready.emit()
        self.status.emit(f"Loaded {experiment.describe_objective(objective)}")
        self._adopt_plane(plane)

    def _adopt_plane(self, plane):
        self.plane = plane
        self.landscape = None
        self.data_values = None
        self.plane_ready.emit()
        self._request_slice()
        self._request_cut()
        self._restart_runs()

    def _on_job_failed(self, kind, message, user_error):
        self.progress.emit("ready", 1.0)
        if kind == "session":
            self.error.emit(f"Could not open the session: {message}" if user_error
                            else f"Could not open the session (internal error): {message}")
            return
        if kind in ("problem", "reg"):
            self._pending_problem = self._pending_regularization = None
            self.problem_changed.emit()  # the panels go back to the settings still in force
            # the problem job loads the data, builds the model and finds its plane: any may refuse
            prefix = "Could not apply the change" if kind == "problem" else "Could not change the regularization"
            self.error.emit(f"{prefix}: {message}" if user_error else f"{prefix} (internal error): {message}")
            if self.objective is not None and self.landscape is None:
                self._request_slice()
            interrupted, self._interrupted = self._interrupted, set()
            if self.objective is not None and "plane" in interrupted:
                self._request_plane()  # the plane's slice, cut and runs follow it
                return
            if self.objective is not None and self.plane is not None:
                # the request stopped the scene's work: finish what it interrupted
                if self.cut is None or "cut" in interrupted:
                    self._request_cut()
                if "slice" in interrupted and self.landscape is not None:
                    self._request_slice()
                if "contours" in interrupted:
                    self.request_contours()
                interrupted = [e for e in self.optimizers if e.enabled and (run := self.runs.get(e.id)) is not None
                               and not (run.finished or run.diverged_at is not None)]
                for entry in interrupted:
                    self._restart_run(entry)
            return
        if kind.startswith("run:"):
            # the method cannot go on (e.g. saddle-free Newton on a model grown past the
            # full Hessian's size): its path ends where it stopped, the others go on
            run = self.runs.get(int(kind[4:])) if kind[4:].isdigit() else None
            if run is not None:
                run.finished = True
                self.runs_updated.emit()
            name = run.label if run is not None else "a method"
            self.error.emit(f"{name} stopped: {message}" if user_error
                            else f"Internal error while running {name}: {message}")
            return
        self.error.emit(message if user_error else f"Internal error while computing {kind}: {message}")

    # ================================================================= persistence
    def session(self, title=None) -> Session:
        """Every setting as a :class:`~core.io.session.Session` (titled ``title``, or the
        opened session's title), with the opened session's caption and the Compare two
        models lab's sides."""
        scene = Session(self.problem, replace(self.slice, center_regularization=self._center_regularization,
                                              center_point=self._center_point()),
                        self.race,
                        [OptimizerSetting(e.spec, e.color, e.enabled) for e in self.optimizers],
                        asdict(self.view), comparison=self.labs.comparison())
        # the opened session's title and caption describe its scene: a scene changed since
        # (data, model, slice, race, methods or the compared sides; not the view) drops them
        unchanged = self._opened_scene is not None and _scene_of(scene) == self._opened_scene
        return replace(scene, title=self.title if title is None and unchanged else (title or ""),
                       caption=self.caption if unchanged else "")

    def settings_dict(self) -> dict:
        return self.session().to_dict()

    def apply_session(self, session: Session, source: str = ""):
        """Open a session: its data and model are built, and its plane found, in a worker;
        only when all of that succeeds does every setting change at once (then the slice,
        cut and runs are computed as usual). A session that cannot be opened changes
        nothing and gives one message. ``source`` (the file) comes back with
        :attr:`session_opened`."""
        self._request_session(lambda: session, source)

    def open_session_file(self, path):
        """Read, check and open a session file, the reading included in the worker: a large
        or slow file never holds up the window, and a newer request cancels it."""
        self._request_session(lambda: Session.load(path), str(path))

    def _request_session(self, read, source):
        def job(report, should_stop):
            session = read()
            if session.slice.is_cut:
                # (the window draws a 2-D slice and cuts through it: a line has no heatmap,
                # and nothing of the scene could be drawn; the command line renders one)
                where = f"{source}: " if source else ""
                raise HillwalkError(f"{where}the session's slice is a 1-D cut; the window draws 2-D slices (set the "
                                    "slice's 'cut' to false and its directions to a pair), or render the cut with "
                                    "`hillwalk render --session FILE --out cut.png`")
            view = view_from_dict(session.view)
            objective, plane = objective_and_plane(session.problem, session.slice, report, check_component=True,
                                                   should_stop=should_stop)
            return session, view, objective, plane, source

        self.progress.emit("opening the session", 0.0)
        self.jobs.start("session", job)

    def _adopt_session(self, session: Session, view: ViewSettings):
        """Every setting of a checked session at once (nothing computed here)."""
        self.jobs.cancel_all()
        self._pending_problem = None
        self._switching_objective = False
        # (the slice in force has no centre regularization of its own: the next plane found is
        # found for the problem; the one being opened was found under the session's)
        self.problem, self.view, self.race = session.problem, view, session.race
        self.slice = replace(session.slice, center_regularization=None, center_point=None)
        self._center_regularization = session.slice.center_regularization
        self._pending_center_point = None
        self.title, self.caption = session.title, session.caption
        self._opened_scene = _scene_of(session)
        self.labs.set_comparison(session.comparison)
        self.optimizers = [OptimizerEntry(k + 1, o.spec, o.color, o.enabled) for k, o in enumerate(session.optimizers)]
        self._next_entry_id = len(self.optimizers) + 1
        self.custom_center = self._custom_center_of(session.slice.center_point)
        self.problem_changed.emit()
        self.slice_changed.emit()
        self.view_changed.emit()
        self.race_changed.emit()
        self.optimizers_changed.emit()

    def _center_point(self) -> CenterPoint | None:
        """The slice's centre on a method's position as a session records it (None: the
        slice's chosen centre)."""
        if self.custom_center is None:
            return None
        label, theta, entry_id = self.custom_center
        index = next((k for k, entry in enumerate(self.optimizers) if entry.id == entry_id), None)
        return CenterPoint.of(label, theta, index)

    def _custom_center_of(self, point: CenterPoint | None):
        """``custom_center`` for a session's centre point: its label, parameters (flat) and
        the entry of the method it names (None where it names none)."""
        if point is None:
            return None
        entry_id = self.optimizers[point.method].id if point.method is not None and point.method < len(
            self.optimizers) else None
        return point.label, point.theta(), entry_id

    def load_settings_dict(self, data: dict):
        """Replace every setting from a session dict, computing nothing (:meth:`start`
        computes); raises HillwalkError, changing nothing, on an invalid dict."""
        session = Session.from_dict(data)
        self._adopt_session(session, view_from_dict(session.view))
        self.objective = None

    def shutdown(self, timeout_ms=5000):
        self.jobs.wait(timeout_ms)


def _scene_of(session: Session):
    """What a session's title and caption describe: every setting but the view's."""
    return (session.problem, session.slice, session.race, tuple(session.optimizers), tuple(session.comparison))


def objective_and_plane(problem: ClassifierSpec, slice_spec: SliceSpec, report, check_component=False,
                        should_stop=None):
    """(objective, plane) for new data and model settings: the work of a data change and of
    an opened session, in a worker. With ``check_component``, a component the objective
    cannot show (a data component of a 2-D function, an example beyond the training set)
    is refused before the plane is trained, so that nothing changes."""
    objective = experiment.build_objective(problem, report)
    if check_component:
        check_settings(objective, problem=problem, slice_spec=slice_spec, changed=("component",))
    report(0.5, "training the center")
    return objective, experiment.build_plane(objective, slice_spec, report=lambda f, text: report(0.5 + 0.5 * f, text),
                                             should_stop=should_stop, problem=problem)


def plane_in_modes(objective, plane: Plane, slice_spec: SliceSpec) -> Plane:
    """``plane``, or for a network with batch norm or dropout whose plane recorded other
    modes than ``slice_spec``'s (the modes changed, the plane was kept), a copy sharing its
    arrays whose info records the modes the slice is drawn in (and the centre's loss in
    them), so that what the figures and exports say is what was computed. Runs in a worker
    (batch norm's evaluation mode takes a pass over the data for the running statistics)."""
    modes = slice_spec.mode_info(objective)
    if not modes or all(plane.info.get(key) == value for key, value in modes.items()):
        return plane
    relabelled = copy.copy(plane)
    relabelled.info = dict(plane.info)
    relabelled.info.update(modes)
    sliced = slice_spec.objective_in_modes(objective, plane.center)
    relabelled.info["center_loss"] = float(sliced.loss(plane.center))
    return relabelled


def objective_summary(objective) -> str:
    """One line about the objective: its data set, or its formula."""
    return experiment.describe_objective(objective)


def traced_contours(scene, shown, view, should_stop):
    """The contour lines of ``scene``'s slice (a SceneSlice or None) for ``view``'s colour
    scale and line count, as (log scale, count, lines), traced in the calling worker; None
    for no scene, a cut, the slice ``shown`` already (its lines stand), or when stopped."""
    if scene is None or scene.landscape is shown or scene.landscape.betas is None:
        return None
    lines = landscape_contours(scene.landscape, view.log_scale, view.contours, should_stop)
    return None if lines is None else (view.log_scale, view.contours, lines)


def run_label(spec: OptimizerSpec, has_data: bool = True) -> str:
    """The legend name of a run: method, learning rate and (on data) batch."""
    batch = "" if spec.batch_size is None or not spec.uses_gradient or not has_data else f", batch {spec.batch_size}"
    rate = f" {spec.rate_text}" if spec.rate_text else ""
    return f"{spec.name_on(has_data)}{rate}{batch}"
