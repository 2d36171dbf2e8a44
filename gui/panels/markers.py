"""Per-method plot items shared by the views that animate the race."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg


def rows_up_to(run, frame) -> int:
    """How many recorded rows of ``run`` the animation shows at ``frame`` (at least 1)."""
    return max(1, int(np.searchsorted(run.steps, frame, side="right")))


class RunMarkers:
    """A trail (line) and a head (marker) per enabled optimizer entry, on one plot.

    ``sync(entries)`` creates, recolours and removes items to match the entries;
    ``trails``/``heads`` map entry ids to the items."""

    def __init__(self, plot, trail_width=2.5, head_size=12, z_value=20):
        self.plot = plot
        self.trail_width, self.head_size, self.z_value = trail_width, head_size, z_value
        self.trails: dict[int, pg.PlotDataItem] = {}
        self.heads: dict[int, pg.ScatterPlotItem] = {}

    def sync(self, entries):
        """Match the items to ``entries`` (the enabled OptimizerEntry objects)."""
        wanted = {entry.id: entry for entry in entries}
        for entry_id in list(self.trails):
            if entry_id not in wanted:
                self.plot.removeItem(self.trails.pop(entry_id))
                self.plot.removeItem(self.heads.pop(entry_id))
        for entry_id, entry in wanted.items():
            if entry_id not in self.trails:
                trail = pg.PlotDataItem([], [])
                head = pg.ScatterPlotItem([], [], size=self.head_size, pen=pg.mkPen("k", width=1.5))
                for item in (trail, head):
                    item.setZValue(self.z_value)
                    self.plot.addItem(item)
                self.trails[entry_id], self.heads[entry_id] = trail, head
            self.trails[entry_id].setPen(pg.mkPen(entry.color, width=self.trail_width))
            self.heads[entry_id].setBrush(pg.mkBrush(entry.color))
        return wanted

    def clear(self, entry_id):
        self.trails[entry_id].setData([], [])
        self.heads[entry_id].setData([], [])
