"""The race as an animated GIF: the slice's heatmap with every path growing frame by
frame, rendered offscreen with pyqtgraph and written with Pillow."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PyQt6 import QtGui

from core.errors import HillwalkError

from .figures import LandscapeFigure, delete_now


@dataclass
class PathToDraw:
    """One method's path in plane coordinates, for drawing."""

    label: str
    steps: np.ndarray
    a: np.ndarray
    b: np.ndarray
    color: str
    diverged_at: int | None = None


def frame_steps(last_step: int, frames: int):
    """``frames`` steps from 0 to ``last_step``, evenly spaced (fewer if there are fewer steps)."""
    if frames < 2:
        raise HillwalkError(f"an animation needs at least 2 frames, got {frames}")
    return np.unique(np.round(np.linspace(0, last_step, frames)).astype(int))


def qimage_to_pil(image: QtGui.QImage) -> Image.Image:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    width, height = image.width(), image.height()
    buffer = image.constBits().asstring(image.sizeInBytes())
    rows = np.frombuffer(buffer, dtype=np.uint8).reshape(height, image.bytesPerLine())
    return Image.fromarray(rows[:, :width * 4].reshape(height, width, 4).copy(), "RGBA").convert("RGB")


def render_race_gif(landscape, paths, path, size=(800, 600), fps=15, frames=60, title=None, log_scale=False,
                    colormap="CET-R4", contours=10):
    """Write the race over ``landscape`` as an animated GIF.

    Parameters
    ----------
    landscape : Landscape (a 2-D slice)
    paths : list of PathToDraw
    size : (width, height) in pixels ; fps : frames per second ; frames : how many frames

    Returns
    -------
    Path of the file and the number of frames written.
    """
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise HillwalkError(f"{path}: the animation is written as GIF; give a file name ending in .gif")
    if not path.parent.exists():
        raise HillwalkError(f"{path.parent}: no such folder for the animation")
    if landscape is None or landscape.betas is None:
        raise HillwalkError("the race animation needs a 2-D slice (not a cut) under it")
    if not (1 <= fps <= 60):
        raise HillwalkError(f"the frame rate must be between 1 and 60 frames per second, got {fps}")
    width, height = size
    if not (100 <= width <= 4000 and 100 <= height <= 4000):
        raise HillwalkError(f"the GIF size must be between 100 and 4000 pixels a side, got {width}x{height}")
    if not paths:
        raise HillwalkError("there is no path to animate; enable at least one optimizer")
    last = max(int(p.steps[-1]) for p in paths if p.steps.size)
    figure = LandscapeFigure()
    images = []
    try:
        figure.show_landscape(landscape, colormap=colormap, log_scale=log_scale, contours=contours, title=title)
        figure.resize(width, height)
        figure.show()
        for step in frame_steps(last, frames):
            drawn = []
            for item in paths:
                upto = max(1, int(np.searchsorted(item.steps, step, side="right")))
                ended = item.diverged_at is not None and upto >= item.steps.size
                drawn.append((item.label, np.c_[item.a[:upto], item.b[:upto]], item.color, ended))
            figure.show_paths(drawn)
            figure.plot.setTitle(f"{title or ''}   step {step}", color="k", size="11pt")
            images.append(qimage_to_pil(figure.grab().toImage()))
    finally:
        figure.hide()
        delete_now(figure)
    duration = 10 * int(round(100 / fps))  # GIF stores delays in hundredths of a second
    try:
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0, optimize=False)
    except OSError as error:
        raise HillwalkError(f"{path}: could not write the GIF ({error})") from None
    return path, len(images)
