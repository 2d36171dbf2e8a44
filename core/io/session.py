"""The whole experiment as one validated, versioned, JSON-serializable value.

A session file (``*.hillwalk.json``) holds every setting and seed: the problem (data and
model), the slice, the race (steps, seed, start, in-plane mode), the optimizers, and the
view (presentation only). Everything random is seeded, so opening a session reproduces
the same slice values and the same paths exactly.

Reading is strict: a file that is not JSON, is truncated, comes from a newer Hillwalk,
names an unknown field or holds a value of the wrong type raises
:class:`~core.errors.HillwalkError` naming the file and the field; nothing is changed.
"""
from __future__ import annotations

import json
import math
import re
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

from ..errors import HillwalkError, require_choice
from ..labs.comparison import DEFAULT_VARIANTS, SIDES, ModelVariant
from ..landscapes.slices import SliceSpec
from ..limits import check, check_numbers, format_bytes
from ..models.problem import ClassifierSpec
from ..optimization.optimizers import OptimizerSpec, Schedule
from .files import require_regular_file, write_text_atomically

FORMAT = "hillwalk-session"
# 2: optimizers' "colour" is spelt "color" (version 1 files still open);
# 3: deep networks: the problem's "hidden" is a list of widths (an int in versions 1-2, still
# read), with batchnorm, keep_prob, residual and pieces; the slice's bn_mode and dropout_mode.
# 4: a "caption" (a paragraph shown with the session) and the Compare two models lab's
# sides ("comparison": {"a": ..., "b": ...}, see core.labs.comparison.ModelVariant).
# 5: the slice's "center_regularization": the regularization its centre and directions were
# found under when it is not the problem's (saved after a change of the regularization
# alone, which keeps the plane); null or absent: the problem's.
# 6: the slice's "center_point": the parameters of a method's position the slice was centred
# on (label, size, values as base64 of little-endian float64, the method's index); null or
# absent: the slice's "center".
# Older files take the defaults of the new fields, which give their numbers unchanged, with
# one exception: a network with dropout (version 3) now trains its slice's centre with a
# fresh mask at every step, as runs do, where it was fitted to one fixed mask.
SCHEMA_VERSION = 6
# A caption is a paragraph, not a document.
MAX_CAPTION_CHARS = 2000
SUFFIX = ".hillwalk.json"
# Larger files are refused before reading: a session of every setting is a few kB; this
# leaves room for long titles and many optimizers while keeping the read short.
MAX_SESSION_BYTES = 256 * 2 ** 20

# A race of more methods than this is unreadable, and each is a run in the window.
MAX_OPTIMIZERS = 32

# The curves' horizontal axis: the step, or the gradient evaluations made so far.
CURVES_X = ("step", "gradients")
# the heatmap's scales: a unit of a as long as a unit of b ("equal"), filling the panel
# ("fill"), or equal for a 2-D function's own x and y and filling for a model's plane ("auto")
AXIS_SCALES = ("auto", "equal", "fill")

# The colour maps the landscape can be drawn with (pyqtgraph's names).
COLORMAPS = ("CET-R4", "viridis", "inferno", "CET-L1", "CET-D1")


@dataclass(frozen=True)
class RaceSettings:
    """Shared settings of the race: steps, minibatch seed, start (a, b) on the plane, and
    whether to optimize within the plane only."""

    steps: int = 300
    seed: int = 0
    # Left of the centre, where the slice's walls are steeper along a than along b, so
    # that gradient and per-coordinate (RMSProp, Adam) steps take visibly different roads.
    start: tuple = (-0.9, 0.45)
    # In the plane by default: a path of the full model is mostly off any 2-D slice (47-70%
    # on digits) and its projection stalls a third of the way to the slice's minimum.
    in_plane: bool = True

    def __post_init__(self):
        check("race.steps", self.steps)
        check("race.seed", self.seed)
        check_numbers("race.start", self.start, "the start", "(a, b)")


@dataclass(frozen=True)
class ViewSettings:
    """How the scene is drawn (presentation only: no computed value depends on it except
    the cut's line and the contour levels).

    Attributes
    ----------
    colormap : one of COLORMAPS
    log_scale : bool: the colour scale
    contours : int: number of contour levels (0: none)
    lab : str: the page shown by its title ("" or a title the window does not have: the landscape)
    cut_mode : "angle" (through the centre) or "points" (between two (a, b) points)
    cut_angle : float: degrees from the a axis
    cut_points : ((a0, b0), (a1, b1))
    curves_log : bool: the curves' loss axis
    curves_x : "step" or "gradients": the curves' horizontal axis, the step or the
        gradient evaluations made so far (the work: second-order steps cost more)
    readout_curvature : bool: the heatmap's readout adds the slice's principal curvatures
        at the crosshair (the plane's 2 x 2 Hessian, computed in a worker)
    axis_scales : one of AXIS_SCALES: whether the heatmap (and its PNG and GIF exports)
        draws a unit of a as long as a unit of b (see :func:`draws_equal_scales`)
    """

    colormap: str = "CET-R4"
    log_scale: bool = False
    contours: int = 10
    lab: str = ""
    cut_mode: str = "angle"
    cut_angle: float = 0.0
    cut_points: tuple = ((-0.8, -0.5), (0.8, 0.5))
    curves_log: bool = True
    curves_x: str = "step"
    readout_curvature: bool = False
    axis_scales: str = "auto"

    def __post_init__(self):
        require_choice(self.colormap, COLORMAPS, "colour map")
        require_choice(self.axis_scales, AXIS_SCALES, "axis scales")
        require_choice(self.curves_x, CURVES_X, "curves' horizontal axis")
        check("view.contours", self.contours)
        require_choice(self.cut_mode, ("angle", "points"), "cut_mode")
        check("view.cut_angle", self.cut_angle)
        points = self.cut_points
        if not (isinstance(points, tuple) and len(points) == 2):
            raise HillwalkError(f"cut_points must be two (a, b) points, got {points!r}")
        for point in points:
            check_numbers("view.cut_point", point, "a cut point", "(a, b)")


def comparison_from_dict(data, where="session: comparison") -> tuple:
    """The two :class:`ModelVariant` of a session's 'comparison' object ({"a": ..., "b":
    ...}; a missing side takes the lab's default)."""
    if not isinstance(data, dict):
        raise HillwalkError(f"{where} must be an object with sides {' and '.join(SIDES)}")
    _no_unknown(data, set(SIDES), where)
    return tuple(build_dataclass(ModelVariant, data[side], f"{where}.{side}") if side in data else default
                 for side, default in zip(SIDES, DEFAULT_VARIANTS))


def draws_equal_scales(axis_scales: str, plane) -> bool:
    """Whether a heatmap of ``plane`` draws a unit of a as long as a unit of b: always with
    "equal", never with "fill"; with "auto", on a 2-D function's own x and y (its true
    geometry: a gradient perpendicular to the contour lines, a rotated ravine at its
    angle), not on a model's plane, whose heatmap fills the panel."""
    require_choice(axis_scales, AXIS_SCALES, "axis scales")
    if axis_scales == "auto":
        return bool(plane.info.get("own_plane"))   # (a 2-D function's own x and y: see SliceSpec.plane)
    return axis_scales == "equal"


def view_from_dict(data, where="session: view") -> ViewSettings:
    """:class:`ViewSettings` from a session's 'view' object (missing keys take defaults)."""
    return build_dataclass(ViewSettings, data, where)


@dataclass(frozen=True)
class OptimizerSetting:
    """One optimizer of the race as the session keeps it."""

    spec: OptimizerSpec
    color: str = "#0072B2"
    enabled: bool = True


# Colour-blind-safe qualitative palette (Okabe & Ito), one colour per optimizer.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")


DEFAULT_RACE_COLORS = ("#000000", "#E69F00", "#CC79A7", "#009E73")  # not the basin's blue (the GUI adds a white halo)


def default_race_optimizers():
    """The default race: SGD, SGD with momentum, RMSProp and Adam on minibatches of 64,
    within the slice from the default start (see README, "The default scene").

    SGD and momentum share a learning rate (0.02), so momentum's ~10x speed-up is the
    only difference between them; on digits (in the plane) momentum is within 0.1 of the
    minimum after 9 steps, Adam (lr 0.03) after 61, RMSProp (lr 0.01) after 130, and SGD
    after 163, ending 96% of the way there, so each marker is somewhere else while the
    race plays."""
    specs = [OptimizerSpec("sgd", lr=0.02, batch_size=64),
             OptimizerSpec("momentum", lr=0.02, momentum=0.9, batch_size=64),
             OptimizerSpec("rmsprop", lr=0.01, batch_size=64),
             OptimizerSpec("adam", lr=0.03, batch_size=64)]
    return [OptimizerSetting(spec, color) for spec, color in zip(specs, DEFAULT_RACE_COLORS)]


@dataclass
class Session:
    problem: ClassifierSpec = field(default_factory=ClassifierSpec)
    slice: SliceSpec = field(default_factory=SliceSpec)
    race: RaceSettings = field(default_factory=RaceSettings)
    optimizers: list = field(default_factory=list)
    view: dict = field(default_factory=dict)
    title: str = ""
    caption: str = ""
    # the Compare two models lab's sides (ModelVariant, ModelVariant)
    comparison: tuple = DEFAULT_VARIANTS

    # ----------------------------------------------------------------- writing
    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": SCHEMA_VERSION, "title": self.title, "caption": self.caption,
                "problem": _plain(asdict(self.problem)), "slice": _plain(asdict(self.slice)),
                "race": _plain(asdict(self.race)),
                "optimizers": [{"spec": _plain(asdict(o.spec)), "color": o.color, "enabled": o.enabled}
                               for o in self.optimizers],
                "view": _plain(dict(self.view)),
                "comparison": {side: _plain(variant.to_dict()) for side, variant in zip(SIDES, self.comparison)}}

    def save(self, path) -> Path:
        """Write the session atomically: a failed write (full disk, read-only folder)
        raises :class:`HillwalkError` and leaves an existing file of that name intact."""
        return write_text_atomically(path, json.dumps(self.to_dict(), indent=2) + "\n", "session file")

    # ----------------------------------------------------------------- reading
    @classmethod
    def from_dict(cls, data, source="session") -> "Session":
        if not isinstance(data, dict):
            raise HillwalkError(f"{source}: a session is a JSON object, found {type(data).__name__}")
        if data.get("format") != FORMAT:
            raise HillwalkError(f"{source}: not a Hillwalk session (its 'format' is {data.get('format')!r}, "
                                f"expected {FORMAT!r})")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise HillwalkError(f"{source}: 'version' must be a whole number, got {version!r}")
        if version > SCHEMA_VERSION:
            raise HillwalkError(f"{source}: written by a newer Hillwalk (session version {version}; this one reads "
                                f"up to {SCHEMA_VERSION}); update Hillwalk to open it")
        if version < 1:
            raise HillwalkError(f"{source}: unknown session version {version}")
        _no_unknown(data, {"format", "version", "title", "caption", "problem", "slice", "race", "optimizers", "view",
                           "comparison"}, source)
        problem = build_dataclass(ClassifierSpec, data.get("problem", {}), f"{source}: problem")
        slice_spec = build_dataclass(SliceSpec, data.get("slice", {}), f"{source}: slice")
        race = build_dataclass(RaceSettings, data.get("race", {}), f"{source}: race")
        raw_optimizers = data.get("optimizers", [])
        if not isinstance(raw_optimizers, list):
            raise HillwalkError(f"{source}: 'optimizers' must be a list")
        if len(raw_optimizers) > MAX_OPTIMIZERS:
            raise HillwalkError(f"{source}: {len(raw_optimizers)} optimizers; a race holds at most {MAX_OPTIMIZERS}")
        optimizers = []
        for k, item in enumerate(raw_optimizers):
            where = f"{source}: optimizers[{k}]"
            if not isinstance(item, dict):
                raise HillwalkError(f"{where} must be an object")
            if "colour" in item and "color" not in item:  # version 1 sessions spelt it so
                item = {("color" if key == "colour" else key): value for key, value in item.items()}
            _no_unknown(item, {"spec", "color", "enabled"}, where)
            spec_data = dict(item.get("spec", {})) if isinstance(item.get("spec", {}), dict) else None
            if spec_data is None:
                raise HillwalkError(f"{where}.spec must be an object")
            schedule = build_dataclass(Schedule, spec_data.pop("schedule", {}), f"{where}.spec.schedule")
            spec = build_dataclass(OptimizerSpec, {**spec_data, "schedule": schedule}, f"{where}.spec")
            color = item.get("color", "#0072B2")
            enabled = item.get("enabled", True)
            if not isinstance(color, str) or not _COLOR.match(color):
                raise HillwalkError(f"{where}.color must be a colour like '#0072B2', got {color!r}")
            if not isinstance(enabled, bool):
                raise HillwalkError(f"{where}.enabled must be true or false, got {enabled!r}")
            optimizers.append(OptimizerSetting(spec, color, enabled))
        view = data.get("view", {})
        if not isinstance(view, dict):
            raise HillwalkError(f"{source}: 'view' must be an object")
        view_from_dict(view, f"{source}: view")  # the whole session is checked before any of it is used
        title = data.get("title", "")
        if not isinstance(title, str):
            raise HillwalkError(f"{source}: 'title' must be text")
        caption = data.get("caption", "")
        if not isinstance(caption, str):
            raise HillwalkError(f"{source}: 'caption' must be text")
        if len(caption) > MAX_CAPTION_CHARS:
            raise HillwalkError(f"{source}: the caption has {len(caption)} characters; at most {MAX_CAPTION_CHARS}")
        if "comparison" in data:
            comparison = comparison_from_dict(data["comparison"], f"{source}: comparison")
        elif problem.objective == "classifier":
            # before version 4 the lab was "Linear vs network": the linear classifier
            # against the session's network settings (used even when its model was linear)
            comparison = (DEFAULT_VARIANTS[0], ModelVariant.of(replace(problem, model="net"), slice_spec))
        else:
            comparison = DEFAULT_VARIANTS
        return cls(problem, slice_spec, race, optimizers, view, title, caption, comparison)

    @classmethod
    def load(cls, path) -> "Session":
        path = require_regular_file(path, "session file")
        size = path.stat().st_size
        if size > MAX_SESSION_BYTES:
            raise HillwalkError(f"{path}: {format_bytes(size)} is far too large for a session (at most "
                                f"{format_bytes(MAX_SESSION_BYTES)}); is it really a .hillwalk.json file?")
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as error:
            raise HillwalkError(f"{path}: cannot read the session file ({error.strerror or error})") from None
        except UnicodeDecodeError as error:
            raise HillwalkError(f"{path}: not a text file (byte {error.start} is not UTF-8); a session file is "
                                "JSON text") from None
        if not text.strip():
            raise HillwalkError(f"{path}: the session file is empty")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise HillwalkError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
                                "the file may be truncated or edited by hand") from None
        except ValueError as error:  # e.g. a number of more than 4300 digits
            raise HillwalkError(f"{path}: not a valid session ({error})") from None
        except RecursionError:
            raise HillwalkError(f"{path}: the JSON is nested too deeply to be a session; the file is damaged "
                                "or not a session") from None
        return cls.from_dict(data, str(path))


# --------------------------------------------------------------------------- helpers

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _plain(value):
    """Tuples to lists, recursively, so a round trip through JSON compares equal."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


def _no_unknown(data, known, where):
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise HillwalkError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def build_dataclass(cls, data, where):
    """Construct dataclass ``cls`` from JSON values, checking names and types (lists of
    numbers become tuples); errors name ``where`` and the field."""
    if not isinstance(data, dict):
        raise HillwalkError(f"{where} must be an object")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    _no_unknown(data, known, where)
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        default = f.default if f.default is not MISSING else None
        values[f.name] = _coerce(data[f.name], hints[f.name], default, f"{where}.{f.name}")
    try:
        return cls(**values)
    except HillwalkError as error:
        raise HillwalkError(f"{where}: {error}") from None
    except (TypeError, ValueError) as error:
        raise HillwalkError(f"{where}: {error}") from None


def _coerce(value, hint, default, where):
    """Check one JSON value against a field's type; tuples come back as tuples."""
    allowed = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else {hint}
    if value is None:
        if type(None) in allowed:
            return None
        raise HillwalkError(f"{where} may not be null")
    if bool in allowed or isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise HillwalkError(f"{where} must be true or false, got {value!r}")
    if tuple in allowed and int in allowed:  # a width or a list of widths (ClassifierSpec.hidden)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return tuple(value)
        raise HillwalkError(f"{where} must be a whole number or a list of whole numbers, got {value!r}")
    if int in allowed and float not in allowed:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise HillwalkError(f"{where} must be a whole number, got {value!r}")
    if float in allowed:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and _is_finite(value):
            return float(value)
        raise HillwalkError(f"{where} must be a finite number, got {value!r}")
    if str in allowed:
        if isinstance(value, str):
            return value
        raise HillwalkError(f"{where} must be text, got {value!r}")
    if tuple in allowed or isinstance(default, tuple):
        if isinstance(value, list) and all(isinstance(v, (int, float, list)) and not isinstance(v, bool)
                                           for v in value):
            return tuple(tuple(v) if isinstance(v, list) else v for v in value)
        raise HillwalkError(f"{where} must be a list of numbers, got {value!r}")
    return value
