"""The labs' part of the app's state: each lab's settings and last result.

Labs are views like any other: a lab panel reads its widgets, calls
``state.labs.request(lab, **settings)``, and draws ``state.labs.result(lab)`` when
``lab_ready(lab)`` fires. The computation is a core task (core/labs/tasks.py) run in the
app's job slots (``state.jobs``, kind ``"lab:<name>"``); a new request of a lab cancels
its stale one. The decision-regions lab follows the race, so its requests coalesce: at
most one is in flight and, when it lands, only the latest of the requests made meanwhile
runs.

When the scene changes (a new objective or plane, the race's start, the slice's grid, the
cut line) the results that depend on it are dropped; labs that are visible recompute at
once, hidden ones when next shown (panels say when with :meth:`LabState.set_visible`).
The Loss lab (the notes' worked example) depends on its own settings only: it runs with no
scene at all and a new scene leaves its result alone. Its settings are checked when they
are requested: a bad table is refused with one message (``app.error``) and the settings
stay as they were.
"""
from __future__ import annotations

import importlib
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from PyQt6 import QtCore

from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs import LAB_NAMES, SCENE_FREE_LABS
from hillwalk.core.labs.comparison import (  # noqa: F401 - constants the lab panels use
    DEFAULT_VARIANTS,
    MAX_LABEL_CHARS,
    MODEL_FIELDS,
    SIDES,
    ModelVariant,
)
from hillwalk.core.labs.worked_example import (  # noqa: F401 - constants the Loss lab shows
    NOTES_DELTA,
    NOTES_LABELS,
    NOTES_NAMES,
    NOTES_SCORES,
    check_delta,
    check_labels,
    score_table,
)
from hillwalk.core.landscapes.landscape import make_axis
from hillwalk.core.models.problem import ClassifierSpec, parse_widths
from hillwalk.core.optimization.optimizers import METHOD_INFO

if TYPE_CHECKING:
    from hillwalk.core.labs.hyperparameter_search import SearchSpec

# The labs' computations (core.labs.tasks and the modules behind it, and the search's) are
# imported when first used, not with the window: 16 ms of its start, for labs whose pages
# are built when first shown. The constants the lab panels draw come from them too, through
# the module's __getattr__ below, as the panels import them (from gui.lab_state).
FOR_LAB_PANELS = {
    "babysitting": ("BABYSIT_METHODS", "BABYSIT_SCHEDULES", "RATIO_HIGH", "RATIO_LOW", "RATIO_TARGET"),
    "gradcheck": ("ERROR_BANDS",),
    "hyperparameter_search": ("SEARCH_OPTIMIZERS", "STRATEGIES", "default_workers"),
    "lessons": ("EXPLOSION_FACTOR", "INIT_LAB_LABELS", "INIT_LAB_SCHEMES", "SATURATION_LEVEL"),
}


def __getattr__(name):
    """A constant of FOR_LAB_PANELS (or BABYSIT_METHOD_LABELS), from its lab's module."""
    if name == "BABYSIT_METHOD_LABELS":
        from hillwalk.core.labs.babysitting import BABYSIT_METHODS

        return {method: METHOD_INFO[method].label for method in BABYSIT_METHODS}
    module = next((module for module, names in FOR_LAB_PANELS.items() if name in names), None)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"hillwalk.core.labs.{module}"), name)


def lab_tasks():
    """core.labs.tasks, imported on first use (see FOR_LAB_PANELS)."""
    from hillwalk.core.labs import tasks

    return tasks


def search_module():
    """core.labs.hyperparameter_search, imported on first use (see FOR_LAB_PANELS)."""
    from hillwalk.core.labs import hyperparameter_search

    return hyperparameter_search


DEFAULT_PROBLEM = ClassifierSpec()

LABS = LAB_NAMES
SCENE_LABS = tuple(lab for lab in LABS if lab not in SCENE_FREE_LABS)   # made stale by a new scene
COALESCED = ("regions",)   # follows the animation: latest request wins, one in flight
# Labs that run only when the user starts them (a search trains hundreds of models): never
# on being shown or on a change of the scene, which only drops their result.
ON_REQUEST = ("search",)
# Labs computed from the model and data alone: a new plane leaves them as they are.
OBJECTIVE_ONLY = ("search", "babysit")

# The lab's defaults: what request() fills in for settings a panel leaves out.
DEFAULT_SETTINGS = {
    "loss": {"scores": NOTES_SCORES, "delta": NOTES_DELTA},   # scores: a tuple of rows (examples)
    "gradcheck": {"point": "initial", "method": "centered", "h": 1e-5, "samples": None, "broken": False},
    "stepsize": {"point": "initial"},
    "sanity": {},
    "compare": {},
    "hinge": {"example": 0, "toy_row": 0, "toy_column": 0},
    "regions": {"source": "center", "frame": 0},
    "models": {"a": DEFAULT_VARIANTS[0], "b": DEFAULT_VARIANTS[1]},
    "init": {"activation": "tanh", "depth": 10, "width": 500, "inputs": "gaussian", "examples": 256,
             "batchnorm": False},
    "curvature": {"point": "center", "top": 5},
    "search": {"strategy": "random", "trials": 16, "lr": (1e-6, 1.0), "reg": (1e-5, 10.0), "hidden": None,
               "keep_prob": None, "epochs": 1, "method": "sgd", "batch_size": 64, "seed": 0, "workers": None},
    "babysit": {"method": "sgd", "lr": 1e-2, "batch_size": 64, "epochs": 10, "schedule": "constant", "gamma": 0.5,
                "every": 5, "k": 0.1, "seed": 0},
}

# Which of the app's signals make each lab's result stale (besides a new objective or plane).
DEPENDS_ON = {
    "loss": (),                            # the notes' own example: no scene at all
    "gradcheck": ("race_changed",),        # the point may be the race's start
    "stepsize": ("race_changed",),
    "sanity": (),
    "compare": ("slice_changed",),         # the slice's range, grid and component
    "hinge": ("view_changed",),            # the cut line
    "regions": ("runs_updated",),          # a method's W at the step
    "models": ("slice_changed",),          # the directions' kind, seed, range, training (see _models_scene)
    "init": (),
    "curvature": ("race_changed", "view_changed"),   # the race's start; the cut line
    "search": (),                          # the model and data only (a new objective)
    "babysit": (),                         # the objective alone (its own start, seed and runs)
}


class LabState(QtCore.QObject):
    """Settings and results of every lab; see the module docstring.

    Signals
    -------
    lab_ready(lab) : a new result of ``lab`` is in :meth:`result`
    lab_failed(lab, message) : the lab's computation failed (a user error's message, or
        the first line of an internal error)
    lab_unavailable(lab, reason) : the lab does not apply to the current scene
    lab_pending(lab) : the lab's result was dropped and is being (or will be) recomputed
    models_changed : the Compare two models lab's sides changed (or a change was refused:
        panels show the sides in force)
    lab_partial(lab, increment) : part of a running lab's result arrived (the search's
        newly finished trials, a list); :meth:`partial` holds all of them so far
    lab_cancelled(lab) : the user stopped the lab's job (what arrived stays in :meth:`partial`)
    """

    models_changed = QtCore.pyqtSignal()
    lab_partial = QtCore.pyqtSignal(str, object)
    lab_cancelled = QtCore.pyqtSignal(str)
    lab_ready = QtCore.pyqtSignal(str)
    lab_failed = QtCore.pyqtSignal(str, str)
    lab_unavailable = QtCore.pyqtSignal(str, str)
    lab_pending = QtCore.pyqtSignal(str)

    def __init__(self, app_state):
        super().__init__(app_state)
        self.app = app_state
        self.settings = {lab: dict(DEFAULT_SETTINGS[lab]) for lab in LABS}
        self.results: dict = {lab: None for lab in LABS}
        self.partials: dict = {lab: [] for lab in LABS}
        self.reasons: dict = {lab: None for lab in LABS}
        self.visible: set = set()
        self.started = {lab: 0 for lab in LABS}   # jobs started per lab (the regions lab coalesces)
        self._stale = set(LABS)
        self._queued: dict = {}                   # coalesced labs: the latest settings waiting to run
        self._models_key = None                   # what the models lab's result (or job) was made from
        self._scene_timer = QtCore.QTimer(self)
        self._scene_timer.setSingleShot(True)
        self._scene_timer.setInterval(0)          # objective_ready and plane_ready come in one pass: recompute once
        self._scene_timer.timeout.connect(self._recompute_visible)
        app_state.objective_ready.connect(lambda: self._invalidate(SCENE_LABS))
        # a new plane leaves the model and data as they were: the searches keep their tables
        app_state.plane_ready.connect(lambda: self._invalidate(tuple(lab for lab in SCENE_LABS
                                                                     if lab not in OBJECTIVE_ONLY)))
        for signal in ("race_changed", "slice_changed", "view_changed", "runs_updated"):
            affected = tuple(lab for lab in LABS if signal in DEPENDS_ON[lab])
            # new runs move the regions lab's W: it keeps its picture until the new one lands
            getattr(app_state, signal).connect(lambda *_, affected=affected, drop=signal != "runs_updated":
                                               self._invalidate(affected, drop))
        app_state.jobs.finished.connect(self._on_finished)
        app_state.jobs.failed.connect(self._on_failed)
        app_state.jobs.partial.connect(self._on_partial)

    # ================================================================= what panels call
    def result(self, lab: str):
        """The lab's last result (a core task's result dataclass), or None."""
        return self.results[lab]

    def unavailable_reason(self, lab: str, objective=None) -> str | None:
        """Why the lab does not apply to ``objective`` (default: the current one) and the
        current plane, or None; see :func:`core.labs.tasks.unavailable_reason`."""
        objective = self.app.objective if objective is None else objective
        if objective is None:
            return None
        return lab_tasks().unavailable_reason(lab, objective, self.app.plane)

    def set_visible(self, lab: str, visible: bool, **settings):
        """A panel says whether it is shown (with its widgets' current ``settings``); a
        lab whose result is stale, or whose settings changed, recomputes when shown
        (except the labs that run only on request)."""
        if visible and lab in ON_REQUEST:
            self.visible.add(lab)
        elif visible:
            self.visible.add(lab)
            settings = self._checked(lab, settings)
            if settings is None:
                settings = {}
            changed = any(self.settings[lab].get(k) != v for k, v in settings.items())
            self.settings[lab].update(settings)
            if lab in self._stale or changed:
                self._compute(lab)
        else:
            self.visible.discard(lab)

    def request(self, lab: str, **settings) -> bool:
        """Compute ``lab`` with ``settings`` (merged into its stored settings) for the
        current scene, in a worker; the result comes with ``lab_ready(lab)``. Settings a lab
        checks up front (the Loss lab's table and delta) and finds bad are refused with one
        message (``app.error``), the stored settings unchanged; returns whether they were
        taken."""
        if lab not in LABS:
            raise HillwalkError(f"unknown lab {lab!r}")
        unknown = set(settings) - set(DEFAULT_SETTINGS[lab])
        if unknown:
            raise HillwalkError(f"the {lab} lab has no setting {', '.join(sorted(unknown))}")
        settings = self._checked(lab, settings)
        if settings is None:
            return False
        if lab in ON_REQUEST and self.app.objective is None:
            self.app.error.emit("The model is still being built: start again when it is ready")
            return False
        self.settings[lab].update(settings)
        self._compute(lab)
        return True

    def _checked(self, lab, settings):
        """``settings`` as the lab's ``_check_<lab>`` normalizes them (merged with the
        stored ones), or None after emitting the message of a HillwalkError; labs without a
        check take them as they come."""
        check = getattr(self, f"_check_{lab}", None)
        if check is None or not settings:
            return settings
        try:
            return check({**self.settings[lab], **settings})
        except HillwalkError as error:
            self.app.error.emit(str(error))
            return None

    @staticmethod
    def _check_loss(settings):
        """The table as a tuple of rows of floats (cells may arrive as their text), the
        notes' labels fitting it, delta a float >= 0."""
        table = score_table(settings["scores"])
        check_labels(NOTES_LABELS, *table.shape)
        return {"scores": tuple(tuple(row) for row in table.tolist()), "delta": check_delta(settings["delta"])}

    def partial(self, lab: str) -> list:
        """What a lab's running (or stopped) job has posted so far (the search's trials)."""
        return self.partials[lab]

    def cancel(self, lab: str):
        """Stop the lab's job in flight; the last result (if any) and what the job posted
        (:meth:`partial`) stay. A new request (or a change of the scene) computes again."""
        if self.busy(lab):
            self.app.jobs.cancel(self.kind(lab))
            self.lab_cancelled.emit(lab)

    # ================================================================= the search lab
    def search_trials(self) -> list:
        """The search's trials: the finished search's, or those posted so far."""
        result = self.results["search"]
        return list(result.trials) if result is not None else list(self.partials["search"])

    def has_trials(self) -> bool:
        return self.results["search"] is not None or bool(self.partials["search"])

    def best_trial(self):
        ranked = search_module().rank_trials(self.search_trials())
        return ranked[0] if ranked and ranked[0].diverged_at is None else None

    def send_best_to_race(self):
        """Give the race's method of the search's kind (the first; a new one if the race has
        none) the best trial's learning rate and the search's batch size."""
        best = self.best_trial()
        if best is None:
            raise HillwalkError("no trial has finished without diverging yet: start the search first")
        objective = self.app.objective
        chance = 1.0 / len(objective.train.class_names) if objective is not None and objective.has_data else 0.0
        if best.val_acc < 1.5 * chance:
            raise HillwalkError(f"no trial learned (the best validation accuracy, {100 * best.val_acc:.0f}%, is near "
                                f"chance, {100 * chance:.0f}%): its learning rate would teach the race nothing")
        from hillwalk.core.optimization.optimizers import OptimizerSpec

        settings = self.settings["search"]
        method, lr, batch = settings["method"], float(best.values["lr"]), int(settings["batch_size"])
        entry = next((e for e in self.app.optimizers if e.spec.method == method), None)
        if entry is None:
            self.app.add_optimizer(OptimizerSpec(method, lr=lr, batch_size=batch))
        else:
            self.app.update_optimizer(entry.id, spec=replace(entry.spec, lr=lr, batch_size=batch))

    def export_search_csv(self, path) -> str:
        """Write the trials (finished or so far) as CSV; returns the path written."""
        result = self.results["search"]
        if result is None:
            if not self.partials["search"]:
                raise HillwalkError("there are no trials to export yet: start the search first")
            from hillwalk.core.labs.hyperparameter_search import SearchResult

            result = SearchResult(self._search_spec(self.settings["search"]), self.search_trials(), [], {}, False)
        return str(search_module().write_csv(result, path))

    def search_spec(self) -> SearchSpec:
        """The search the lab's settings describe."""
        return self._search_spec(self.settings["search"])

    def _check_search(self, settings):
        """Settings a SearchSpec accepts (ranges low < high, a learning-rate method ...)."""
        self._search_spec(settings)
        return settings

    @staticmethod
    def _search_spec(s) -> SearchSpec:
        return search_module().SearchSpec(strategy=s["strategy"], trials=s["trials"], lr=tuple(s["lr"]),
                                          reg=tuple(s["reg"]), hidden=None if s["hidden"] is None else tuple(s["hidden"]),
                                          keep_prob=None if s["keep_prob"] is None else tuple(s["keep_prob"]),
                                          epochs=s["epochs"],
                                          method=s["method"], batch_size=s["batch_size"], seed=s["seed"])

    def _job_search(self, s):
        tasks = lab_tasks()
        spec = self._search_spec(s)
        problem, objective = self.app.problem, self.app.objective
        workers = int(s["workers"] or search_module().default_workers())
        return lambda report, should_stop: tasks.search_task(problem, spec, objective, workers, report=report,
                                                              should_stop=should_stop)

    # ================================================================= the two models' sides
    def comparison(self) -> tuple:
        """The Compare two models lab's sides: (ModelVariant, ModelVariant)."""
        return tuple(self.settings["models"][side] for side in SIDES)

    def set_comparison(self, variants):
        """Both sides at once (an opened session's); the lab recomputes when shown."""
        self.settings["models"].update(zip(SIDES, variants))
        self.models_changed.emit()
        self._invalidate(("models",), force=True)

    def set_model_side(self, side: str, **changes) -> bool:
        """Change one side's settings (fields of
        :class:`~core.labs.comparison.ModelVariant`; ``hidden`` may be text such as
        "100, 100"). A change the model cannot honour (skip connections between unequal
        widths, a bad width list ...) is refused with one message (``lab_failed``) and the
        side stays as it was; either way ``models_changed`` fires so panels show the
        sides in force. Returns whether the change was applied."""
        if side not in SIDES:
            raise HillwalkError(f"the comparison's sides are {' and '.join(SIDES)}, got {side!r}")
        current = self.settings["models"][side]
        try:
            if isinstance(changes.get("hidden"), str):
                changes["hidden"] = parse_widths(changes["hidden"])
            variant = replace(current, **changes)
            objective = self.app.objective
            if objective is not None and objective.has_data:   # a side the memory cannot hold
                variant.problem(self.app.problem).check_fits(objective.train)
        except HillwalkError as error:
            self.lab_failed.emit("models", f"Could not apply the change to model {side.upper()}: {error}")
            self.models_changed.emit()
            return False
        if variant == current:
            self.models_changed.emit()
            return True
        self.settings["models"][side] = variant
        self.models_changed.emit()
        if replace(variant, label=current.label) == current:
            # only the label changed: nothing to train or slice again (a job in flight goes
            # on); the panel titles its plots from the sides in force and redraws
            if self.results["models"] is not None:
                self.lab_ready.emit("models")
            return True
        self._invalidate(("models",), force=True)
        return True

    def _models_scene(self):
        """What the Compare two models lab's result depends on besides its sides: the
        problem's data, loss and regularizer (not the main model), and the slice's kind of
        directions, seed, range, training and budget (not its grid, cut, component or
        modes, which the lab sets itself)."""
        app = self.app
        problem, spec = app.problem, app.slice
        shared = replace(problem, **{name: getattr(DEFAULT_PROBLEM, name) for name in MODEL_FIELDS})
        return (shared, spec.directions, spec.seed, tuple(spec.alpha_range), tuple(spec.beta_range),
                spec.train_steps, spec.init_scale, spec.orthogonalize, spec.biases, spec.budget_mb)

    def copy_model_to_side(self, side: str) -> bool:
        """Make ``side`` the app's model (the Model panel's settings and the Landscape
        panel's batch-norm and dropout modes), keeping its label."""
        current = ModelVariant.of(self.app.problem, self.app.slice)
        return self.set_model_side(side, **{name: getattr(current, name)
                                            for name in (*MODEL_FIELDS, "bn_mode", "dropout_mode")})

    def busy(self, lab: str) -> bool:
        return self.app.jobs.is_live(self.kind(lab))

    @staticmethod
    def kind(lab: str) -> str:
        return f"lab:{lab}"

    # ================================================================= invalidation
    def _invalidate(self, labs, drop=True, force=False):
        if "models" in labs and not force and self._models_key == self._models_scene() \
                and (self.results["models"] is not None or self.busy("models")):
            # a change of the main model, the grid or the modes: the two sides are unchanged
            labs = tuple(lab for lab in labs if lab != "models")
        for lab in labs:
            if not drop and lab == "regions" and self.settings[lab]["source"] == "center":
                continue  # the centre's regions do not depend on the runs
            self._stale.add(lab)
            if not drop:
                continue
            self.results[lab] = None
            if lab in ON_REQUEST:
                self.partials[lab] = []
            self.app.jobs.cancel(self.kind(lab))
            self._queued.pop(lab, None)
            self.lab_pending.emit(lab)
        if any(lab in self.visible for lab in labs):
            self._scene_timer.start()

    def _recompute_visible(self):
        for lab in LABS:
            if lab in self.visible and lab in self._stale and lab not in ON_REQUEST:
                self._compute(lab)

    # ================================================================= running
    def _compute(self, lab):
        app = self.app
        if lab not in SCENE_FREE_LABS and (app.objective is None or app.plane is None):
            self._stale.add(lab)   # computed when the scene arrives
            return
        self._stale.discard(lab)
        reason = self.unavailable_reason(lab)
        self.reasons[lab] = reason
        if reason is not None:
            app.jobs.cancel(self.kind(lab))
            self.results[lab] = None
            self.lab_unavailable.emit(lab, reason)
            return
        settings = dict(self.settings[lab])
        if lab in COALESCED and self.busy(lab):
            self._queued[lab] = settings
            return
        try:
            job = getattr(self, f"_job_{lab}")(settings)
        except HillwalkError as error:
            self.lab_failed.emit(lab, str(error))
            return
        if job is None:
            return
        self.partials[lab] = []
        self.results[lab] = None if lab in ON_REQUEST else self.results[lab]
        self.started[lab] += 1
        if lab == "models":
            self._models_key = self._models_scene()
        app.jobs.start(self.kind(lab), job)
        if lab not in COALESCED:   # the regions follow every frame: no "computing" flicker
            self.lab_pending.emit(lab)

    def _on_finished(self, kind, result):
        lab = self._lab_of(kind)
        if lab is None:
            return
        if result is not None:
            self.results[lab] = result
            self.lab_ready.emit(lab)
        self._run_queued(lab)

    def _on_partial(self, kind, increment):
        lab = self._lab_of(kind)
        if lab is None or not isinstance(increment, list):
            return
        self.partials[lab].extend(increment)
        self.lab_partial.emit(lab, increment)

    def _on_failed(self, kind, message, user_error):
        lab = self._lab_of(kind)
        if lab is None:
            return
        self.lab_failed.emit(lab, message.splitlines()[0] if message else "error")
        self._run_queued(lab)

    def _run_queued(self, lab):
        settings = self._queued.pop(lab, None)
        if settings is not None:
            self.settings[lab].update(settings)
            self._compute(lab)

    @staticmethod
    def _lab_of(kind):
        if not kind.startswith("lab:"):
            return None
        lab = kind[4:]
        return lab if lab in LABS else None

    # ================================================================= jobs: plain inputs for core tasks
    def _job_loss(self, s):
        tasks = lab_tasks()
        scores, delta = s["scores"], s["delta"]
        return lambda report, should_stop: tasks.loss_example_task(scores, delta, NOTES_LABELS, report=report,
                                                                   should_stop=should_stop)

    def _point_inputs(self, settings):
        app = self.app
        return (app.objective, app.plane, settings["point"], tuple(app.race.start), app.slice.init_scale,
                app.slice.seed)

    def _job_gradcheck(self, s):
        tasks = lab_tasks()
        objective, plane, point, start, scale, seed = self._point_inputs(s)

        def job(report, should_stop):
            theta = tasks.evaluation_point(objective, plane, point, start, scale, seed)
            return tasks.gradient_check_task(objective, theta, s["method"], s["h"], s["samples"], s["broken"],
                                             report=report, should_stop=should_stop)
        return job

    def _job_stepsize(self, s):
        tasks = lab_tasks()
        objective, plane, point, start, scale, seed = self._point_inputs(s)

        def job(report, should_stop):
            theta = tasks.evaluation_point(objective, plane, point, start, scale, seed)
            return tasks.step_size_task(objective, theta, report=report, should_stop=should_stop, seed=seed)
        return job

    def _job_sanity(self, s):
        tasks = lab_tasks()
        objective = self.app.objective
        return lambda report, should_stop: tasks.sanity_task(objective, report=report, should_stop=should_stop)

    def _job_compare(self, s):
        tasks = lab_tasks()
        app = self.app
        problem, objective, plane, spec = app.problem, app.objective, app.plane, app.slice
        alphas = spec.alpha_axis()
        betas = make_axis(*map(float, spec.beta_range), int(spec.grid))
        budget = int(spec.budget_mb * 2 ** 20)
        return lambda report, should_stop: tasks.loss_comparison_task(
            problem, objective, plane, alphas, betas, spec.component, budget, report=report, should_stop=should_stop)

    def _job_hinge(self, s):
        tasks = lab_tasks()
        app = self.app
        objective, plane = app.objective, app.plane
        origin, direction, s_range = app.cut_line()

        def job(report, should_stop):
            center = plane.point(*origin)
            along = direction[0] * plane.dir1 + direction[1] * plane.dir2
            return tasks.hinge_task(objective, center, along, s_range, s["example"], s["toy_row"], s["toy_column"],
                                    report=report, should_stop=should_stop)
        return job

    def regions_theta(self, source, frame):
        """The parameters whose regions the lab draws: the slice's centre, or a method's
        recorded W at ``frame`` (None while that method has no recorded position)."""
        app = self.app
        if source in (None, "center"):
            return app.plane.center if app.plane is not None else None
        run = app.runs.get(source)
        if run is None or run.steps.size == 0:
            return None
        row = max(0, min(int(np.searchsorted(run.steps, frame, side="right")) - 1, run.steps.size - 1))
        return run.theta_at(row)

    def _job_regions(self, s):
        tasks = lab_tasks()
        objective = self.app.objective
        theta = self.regions_theta(s["source"], s["frame"])
        if theta is None:
            return None
        tag = (s["source"], int(s["frame"]))
        return lambda report, should_stop: tasks.regions_task(objective, theta, tag=tag, report=report,
                                                              should_stop=should_stop)

    def _job_models(self, s):
        tasks = lab_tasks()
        app = self.app
        problem, spec, objective = app.problem, app.slice, app.objective
        variants = (s["a"], s["b"])
        return lambda report, should_stop: tasks.compare_models_task(problem, spec, objective, variants,
                                                                     report=report, should_stop=should_stop)

    def _job_curvature(self, s):
        tasks = lab_tasks()
        objective, plane, point, start, scale, seed = self._point_inputs(s)
        line = None
        if plane.dir2 is not None:   # the cut through the slice, as the cut view draws it
            origin, direction, s_range = self.app.cut_line()
            line = (plane.point(*origin), direction[0] * plane.dir1 + direction[1] * plane.dir2, s_range)
        elif not objective.has_own_plane:
            line = (plane.center, plane.dir1, tuple(self.app.slice.alpha_range))

        def job(report, should_stop):
            theta = tasks.evaluation_point(objective, plane, point, start, scale, seed)
            # a 2-D function has two eigenvalues: as many as there are
            top = min(int(s["top"]), np.size(theta))
            return tasks.curvature_task(objective, theta, top, 1, 64, True, None, seed, line, report=report,
                                        should_stop=should_stop)
        return job

    def race_across_the_stability_bound(self):
        """Add two full-batch gradient descents to the race, at 0.95 and 1.05 times the
        largest stable learning rate 2 / lambda_max of the last curvature result: the
        first converges on the quadratic model, the second does not."""
        result = self.results["curvature"]
        if result is None:
            raise HillwalkError("compute the curvature first: the learning rates come from its lambda_max")
        from hillwalk.core.optimization.optimizers import OptimizerSpec

        bound = result.largest_stable_lr
        for factor in (0.95, 1.05):
            self.app.add_optimizer(OptimizerSpec("sgd", lr=factor * bound, label=f"GD at {factor:g} x 2/lambda_max"))

    def _job_init(self, s):
        tasks = lab_tasks()
        app = self.app
        objective, seed, slope = app.objective, app.slice.seed, app.problem.slope
        return lambda report, should_stop: tasks.initialization_task(
            objective, s["activation"], s["depth"], s["width"], s["inputs"], s["examples"], seed, slope,
            bool(s["batchnorm"]), report=report, should_stop=should_stop)

    def _check_babysit(self, settings):
        """The Babysitting lab's settings as its task would check them (ranges, the work
        budget on the model in force), before they are stored."""
        from hillwalk.core.labs.babysitting import check_settings as check_babysitting
        from hillwalk.core.optimization.optimizers import Schedule

        Schedule(settings["schedule"], settings["gamma"], int(settings["every"]), settings["k"])
        if self.app.objective is not None and self.app.objective.has_data:
            batch = None if settings["batch_size"] in (None, 0) else int(settings["batch_size"])
            check_babysitting(self.app.objective, settings["method"], settings["lr"], batch, settings["epochs"],
                              settings["schedule"], settings["seed"])
        return settings

    def _job_babysit(self, s):
        tasks = lab_tasks()
        objective = self.app.objective
        return lambda report, should_stop: tasks.babysit_task(
            objective, s["method"], s["lr"], s["batch_size"], s["epochs"], s["schedule"], s["gamma"], s["every"],
            s["k"], s["seed"], report=report, should_stop=should_stop)
