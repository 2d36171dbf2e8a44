"""The race GIF's frames: which step each frame shows, how many recorded rows of each
path it draws, and whether a GIF request fits the limits and the memory budget.

The app's export worker and ``main.py race`` both plan their frames here, so the two
cannot drift; this module knows nothing about drawing (the pixels are ``gui.animation``'s
job). A GIF request is checked before anything is computed: its size, frame rate and
frame count, and the memory it needs, estimated as one palette ("P") image of one byte a
pixel per frame (the GIF writer keeps every frame until it writes the file) plus a few
full-colour working images (the background and the frame being drawn).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HillwalkError
from ..limits import RANGES

# the ranges of core/limits.py, under the names the GIF code and dialogs use
GIF_MIN_SIDE, GIF_MAX_SIDE = int(RANGES["gif.side"].low), int(RANGES["gif.side"].high)
GIF_MIN_FPS, GIF_MAX_FPS = int(RANGES["gif.fps"].low), int(RANGES["gif.fps"].high)
GIF_MIN_FRAMES, GIF_MAX_FRAMES = int(RANGES["gif.frames"].low), int(RANGES["gif.frames"].high)
# Every frame is kept until the file is written; 1 GiB holds 60 frames at the largest
# size (4000 x 3000) with room for the working images, on a machine with a few GB free.
GIF_MEMORY_BUDGET_BYTES = 1 << 30
# Bytes a pixel of the working images take besides the kept frames: the background and
# the frame being drawn (4 each, 32-bit), the background's palette indices, the frame's,
# the mask of its changed pixels and the writer's difference to the previous frame (1
# each), rounded up for the interpreter's and the allocator's slack.
WORKING_BYTES_PER_PIXEL = 16


def frame_steps(last_step: int, frames: int) -> np.ndarray:
    """The steps the frames show: ``frames`` steps from 0 to ``last_step``, evenly spaced.

    Returns
    -------
    steps : (F,) int array, increasing, F <= frames (fewer when the race has fewer than
        ``frames`` distinct steps).
    """
    if frames < GIF_MIN_FRAMES:
        raise HillwalkError(f"an animation needs at least {GIF_MIN_FRAMES} frames, got {frames}")
    if last_step < 0:
        raise HillwalkError(f"the last step of a race cannot be negative, got {last_step}")
    return np.unique(np.round(np.linspace(0, last_step, frames)).astype(np.int64))


@dataclass(frozen=True)
class RaceFrames:
    """What each frame of the race GIF shows.

    Attributes
    ----------
    steps : (F,) int array
        The race step of each frame (its label).
    rows : (F, P) int array
        How many recorded rows of path p frame f draws: the rows recorded at steps up to
        ``steps[f]``, at least 1 (every path shows its start), 0 only for a path with no rows.
    ended : (F, P) bool array
        Whether path p has diverged by frame f (it ends with a cross rather than a dot).
    """

    steps: np.ndarray
    rows: np.ndarray
    ended: np.ndarray

    @property
    def count(self) -> int:
        return int(self.steps.size)


def race_frames(path_steps, frames: int, diverged=None) -> RaceFrames:
    """Plan the frames of the race GIF.

    Parameters
    ----------
    path_steps : sequence of P int arrays, each (T_p,) increasing
        The step of each recorded row of each path.
    frames : int
        How many frames to spread evenly over the race (from step 0 to the last step any
        path recorded).
    diverged : sequence of P bools or None
        Which paths diverged (their last row is where they stopped).

    Returns
    -------
    RaceFrames
    """
    path_steps = [np.asarray(steps, dtype=np.int64).reshape(-1) for steps in path_steps]
    if not path_steps or not any(steps.size for steps in path_steps):
        raise HillwalkError("there is no path to animate; enable at least one optimizer and let it run")
    diverged = [False] * len(path_steps) if diverged is None else [bool(d) for d in diverged]
    if len(diverged) != len(path_steps):
        raise ValueError(f"{len(diverged)} divergence flags for {len(path_steps)} paths")
    steps = frame_steps(max(int(s[-1]) for s in path_steps if s.size), frames)
    rows = np.empty((steps.size, len(path_steps)), dtype=np.int64)
    ended = np.zeros(rows.shape, dtype=bool)
    for p, (recorded, stopped) in enumerate(zip(path_steps, diverged)):
        shown = np.searchsorted(recorded, steps, side="right")
        rows[:, p] = np.minimum(np.maximum(shown, 1), recorded.size)
        ended[:, p] = stopped & (rows[:, p] >= recorded.size)
    return RaceFrames(steps, rows, ended)


def gif_memory_estimate(width: int, height: int, frames: int) -> int:
    """Bytes a ``width`` x ``height`` GIF of ``frames`` frames needs while it is written:
    one byte a pixel per kept palette frame plus the working images."""
    pixels = int(width) * int(height)
    return int(frames) * pixels + WORKING_BYTES_PER_PIXEL * pixels


def format_bytes(count: int) -> str:
    """'1.2 GB', '350 MB' (powers of 1024)."""
    if count >= 1 << 30:
        return f"{count / (1 << 30):.1f} GB"
    return f"{count / (1 << 20):.0f} MB"


def check_gif_request(width: int, height: int, fps: int, frames: int,
                      budget_bytes: int = GIF_MEMORY_BUDGET_BYTES) -> int:
    """Refuse, before any work, a GIF that is out of range or over the memory budget.

    Returns
    -------
    The memory estimate in bytes (see :func:`gif_memory_estimate`).

    Raises
    ------
    HillwalkError
        Naming the bad setting, its allowed range or the estimate and the budget, and how
        to fix it.
    """
    for name, value in (("width", width), ("height", height), ("frame rate", fps), ("frame count", frames)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise HillwalkError(f"the GIF's {name} must be a whole number, got {value!r}")
    if not (GIF_MIN_FPS <= fps <= GIF_MAX_FPS):
        raise HillwalkError(f"the frame rate must be between {GIF_MIN_FPS} and {GIF_MAX_FPS} frames per second, "
                            f"got {fps}")
    if not (GIF_MIN_FRAMES <= frames <= GIF_MAX_FRAMES):
        raise HillwalkError(f"the animation needs between {GIF_MIN_FRAMES} and {GIF_MAX_FRAMES} frames, got {frames}")
    if not (GIF_MIN_SIDE <= width <= GIF_MAX_SIDE and GIF_MIN_SIDE <= height <= GIF_MAX_SIDE):
        raise HillwalkError(f"the GIF size must be between {GIF_MIN_SIDE} and {GIF_MAX_SIDE} pixels a side, "
                            f"got {width}x{height}")
    estimate = gif_memory_estimate(width, height, frames)
    if estimate > budget_bytes:
        pixels = int(width) * int(height)
        fitting = budget_bytes // pixels - WORKING_BYTES_PER_PIXEL
        advice = (f"at {width}x{height} at most {fitting} frames fit" if fitting >= GIF_MIN_FRAMES
                  else "choose a smaller size")
        raise HillwalkError(f"a {width}x{height} GIF of {frames} frames needs about {format_bytes(estimate)} of "
                            f"memory, over the {format_bytes(budget_bytes)} budget; ask for fewer frames or a "
                            f"smaller size ({advice})")
    return estimate
