"""Contour lines by contourpy (gui/contours.py): the geometry of a known bowl, NaN holes,
the level rule, and a plain marching-squares reference on rugged grids (every vertex on
the bilinear interpolant, every crossed cell edge found once, the segments where they
belong). The heatmap draws what the state's worker traced."""
import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.experiment import clip_for_log
from hillwalk.core.landscapes.landscape import Landscape
from hillwalk.gui.contours import contour_levels, contour_lines, landscape_contours, trace_levels
from tests.corpus.values import type_into
from tests.gui.conftest import SCENE_TIMEOUT_MS


def polylines(lines):
    """The separate lines of a ContourLines: a list of arrays (n, 2)."""
    x, y = lines
    assert x.shape == y.shape and x.ndim == 1
    assert np.array_equal(np.isnan(x), np.isnan(y)), "a separator is NaN in both coordinates"
    breaks = np.flatnonzero(np.isnan(x))
    pieces = np.split(np.c_[x, y], breaks)
    out = [p[1:] if k else p for k, p in enumerate(pieces)]  # drop the NaN row each piece after the first starts with
    assert all(len(p) >= 2 for p in out), "no empty or one-point line (no doubled separators)"
    return out


def bowl(n=101, m=107, half=1.0, half_y=1.1):
    xs = np.linspace(-half, half, n)
    ys = np.linspace(-half_y, half_y, m)
    return xs, ys, xs[None, :] ** 2 + ys[:, None] ** 2


# ----------------------------------------------------------------------------- a circle bowl

@pytest.mark.parametrize("n", [41, 101, 401])
def test_circles_of_a_bowl_lie_on_their_level_closed_and_2_pi_r_long(n):
    xs, ys, values = bowl(n, n + 6)
    h = max(xs[1] - xs[0], ys[1] - ys[0])
    radii = [0.3, 0.6, 0.9]
    lines = polylines(trace_levels(values, xs, ys, [r * r for r in radii]))
    assert len(lines) == len(radii), "one line per level, in the order of the levels"
    for line, r in zip(lines, radii):
        assert np.array_equal(line[0], line[-1]), "a circle inside the grid is a closed line"
        # linear interpolation of r^2 along an edge of length h is off by at most h^2 / 4
        # in value, about h^2 / (8 r) in radius
        distance = np.hypot(line[:, 0], line[:, 1])
        assert np.max(np.abs(distance - r)) < h * h / (4 * r)
        assert np.max(np.abs(line[:, 0] ** 2 + line[:, 1] ** 2 - r * r)) <= h * h / 4 + 1e-12
        # the polygon's chords run inside the circle: a relative shortfall of order (h / r)^2
        length = np.sum(np.hypot(*np.diff(line, axis=0).T))
        assert abs(length / (2 * np.pi * r) - 1) < (h / r) ** 2 / 4
        assert length < 2 * np.pi * r
        # it goes round once: the angle covers the whole circle in steps smaller than a cell
        angles = np.unwrap(np.arctan2(line[:, 1], line[:, 0]))
        assert abs(abs(angles[-1] - angles[0]) - 2 * np.pi) < 1e-9
        assert np.max(np.abs(np.diff(angles))) < 2 * h / r


def test_a_circle_cut_by_the_grid_edge_is_an_open_arc_ending_on_the_edge():
    xs, ys, values = bowl(81, 81, 1.0, 1.0)
    lines = polylines(trace_levels(values, xs, ys, [1.2 ** 2]))
    # the circle of radius 1.2 leaves the square [-1, 1]^2 four times: four corner arcs
    assert len(lines) == 4
    for line in lines:
        assert not np.array_equal(line[0], line[-1])
        for end in (line[0], line[-1]):
            assert np.isclose(abs(end[0]), 1.0) or np.isclose(abs(end[1]), 1.0)


# ----------------------------------------------------------------------------- NaN and empty cases

def cells_with_a_nonfinite_corner(values):
    bad = ~np.isfinite(values)
    return bad[:-1, :-1] | bad[:-1, 1:] | bad[1:, :-1] | bad[1:, 1:]


def cell_of(points, xs, ys):
    """(row, column) of the cell holding each point (n, 2) (a midpoint: strictly inside)."""
    return (np.clip(np.searchsorted(ys, points[:, 1]) - 1, 0, ys.size - 2),
            np.clip(np.searchsorted(xs, points[:, 0]) - 1, 0, xs.size - 2))


@pytest.mark.parametrize("hole", [np.nan, np.inf, -np.inf])
def test_lines_stop_at_the_edge_of_a_hole_and_never_enter_its_cells(hole):
    xs, ys, values = bowl(61, 61, 1.0, 1.0)
    values = values.copy()
    values[25:36, 40:50] = hole  # a block on the right, across the circle of radius 0.6
    skipped = cells_with_a_nonfinite_corner(values)
    lines = polylines(trace_levels(values, xs, ys, [0.36, 0.04]))
    big = [line for line in lines if np.max(np.hypot(line[:, 0], line[:, 1])) > 0.5]
    small = [line for line in lines if np.max(np.hypot(line[:, 0], line[:, 1])) < 0.5]
    # the small circle misses the hole and stays closed; the big one is cut into one open arc
    assert len(small) == 1 and np.array_equal(small[0][0], small[0][-1])
    assert len(big) == 1 and not np.array_equal(big[0][0], big[0][-1])
    for line in lines:
        assert np.all(np.isfinite(line))
        rows, columns = cell_of((line[1:] + line[:-1]) / 2, xs, ys)
        assert not skipped[rows, columns].any(), "no segment inside a cell with a non-finite corner"
    # the arc's ends lie on the border of the skipped cells: on a grid line next to them
    for end in (big[0][0], big[0][-1]):
        assert abs(end[0] - xs[39]) < 1e-12 or min(abs(end[1] - ys[24]), abs(end[1] - ys[36])) < 1e-12
        assert xs[39] - 1e-12 <= end[0] <= xs[50] + 1e-12 and ys[24] - 1e-12 <= end[1] <= ys[36] + 1e-12


@pytest.mark.parametrize("values", [np.full((30, 40), 2.5), np.full((30, 40), np.nan),
                                    np.where(np.eye(30, 40) > 0, np.nan, 7.0)])
def test_a_flat_or_all_nan_slice_has_no_levels_and_no_lines(values):
    xs, ys = np.linspace(0, 1, 40), np.linspace(0, 1, 30)
    assert contour_levels(values, 10) == []
    x, y = contour_lines(values, xs, ys, 10)
    assert x.shape == y.shape == (0,)


def test_zero_levels_give_no_lines():
    xs, ys, values = bowl()
    assert contour_levels(values, 0) == []
    assert contour_lines(values, xs, ys, 0).x.size == 0
    assert trace_levels(values, xs, ys, []).x.size == 0


def test_levels_are_evenly_spaced_strictly_inside_the_finite_range():
    values = np.array([[np.nan, 1.0, 3.0], [-np.inf, 2.0, 9.0]])
    levels = contour_levels(values, 3)
    assert levels == pytest.approx([3.0, 5.0, 7.0])
    assert contour_levels(values, 1) == pytest.approx([5.0])


@pytest.mark.parametrize("count", [1, 4, 10, 37])
def test_every_level_of_a_rugged_slice_is_traced_once(count):
    xs, ys, values = rugged_grid(seed=count)
    levels = contour_levels(values, count)
    assert len(levels) == count
    lines = polylines(contour_lines(values, xs, ys, count))
    found = []
    for line in lines:
        level = levels[int(np.argmin([abs(bilinear(values, xs, ys, *line[0]) - v) for v in levels]))]
        found.append(level)
    # lines come level after level, and every level between the extremes crosses the grid
    assert found == sorted(found) and sorted(set(found)) == sorted(levels)


# ----------------------------------------------------------------------------- against a plain reference

def rugged_grid(seed, nx=37, ny=29, holes=True):
    """A noisy slice on uneven axes, with saddles everywhere and a few NaN points."""
    rng = np.random.default_rng(seed)
    xs = np.cumsum(rng.uniform(0.5, 1.5, nx)) * 0.1 - 2.0
    ys = np.cumsum(rng.uniform(0.5, 1.5, ny)) * 0.07 + 1.0
    values = np.sin(3 * xs[None, :]) * np.cos(4 * ys[:, None]) + 0.6 * rng.standard_normal((ny, nx))
    if holes:
        values[rng.integers(0, ny, 12), rng.integers(0, nx, 12)] = np.nan
    return xs, ys, values


def bilinear(values, xs, ys, x, y):
    """The bilinear interpolant of the grid at (x, y), from the finite cells that hold the
    point (within rounding); NaN if none does. Cells that disagree fail the caller."""
    found = []
    for i in range(xs.size - 1):
        if not (xs[i] - 1e-12 <= x <= xs[i + 1] + 1e-12):
            continue
        for j in range(ys.size - 1):
            if not (ys[j] - 1e-12 <= y <= ys[j + 1] + 1e-12):
                continue
            corners = values[j:j + 2, i:i + 2]
            if not np.all(np.isfinite(corners)):
                continue
            s = (x - xs[i]) / (xs[i + 1] - xs[i])
            t = (y - ys[j]) / (ys[j + 1] - ys[j])
            found.append((1 - s) * (1 - t) * corners[0, 0] + s * (1 - t) * corners[0, 1]
                         + (1 - s) * t * corners[1, 0] + s * t * corners[1, 1])
    if not found:
        return np.nan
    assert np.allclose(found, found[0], rtol=0, atol=1e-9)
    return found[0]


def edge_crossings(values, xs, ys, level):
    """Plain marching squares, edge by edge: the point where the level crosses each edge of
    a cell whose four corners are finite, by linear interpolation along the edge. A list of
    (x, y), each crossed edge once."""
    ny, nx = values.shape
    valid = np.zeros((ny - 1, nx - 1), bool)
    for j in range(ny - 1):
        for i in range(nx - 1):
            valid[j, i] = all(np.isfinite(values[j + dj, i + di]) for dj in (0, 1) for di in (0, 1))
    points = []
    for j in range(ny):
        for i in range(nx - 1):  # horizontal edge (i, j) - (i + 1, j)
            if not ((j > 0 and valid[j - 1, i]) or (j < ny - 1 and valid[j, i])):
                continue
            a, b = values[j, i], values[j, i + 1]
            if (a - level) * (b - level) < 0:
                points.append((xs[i] + (level - a) / (b - a) * (xs[i + 1] - xs[i]), ys[j]))
    for j in range(ny - 1):
        for i in range(nx):  # vertical edge (i, j) - (i, j + 1)
            if not ((i > 0 and valid[j, i - 1]) or (i < nx - 1 and valid[j, i])):
                continue
            a, b = values[j, i], values[j + 1, i]
            if (a - level) * (b - level) < 0:
                points.append((xs[i], ys[j] + (level - a) / (b - a) * (ys[j + 1] - ys[j])))
    return np.array(points).reshape(-1, 2), valid


def crossed_edges_per_cell(values, level, valid):
    """How many of each cell's four edges the level crosses (0, 2 or 4), 0 for skipped cells."""
    above = values > level
    count = ((above[:-1, :-1] != above[:-1, 1:]).astype(int) + (above[1:, :-1] != above[1:, 1:])
             + (above[:-1, :-1] != above[1:, :-1]) + (above[:-1, 1:] != above[1:, 1:]))
    return np.where(valid, count, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_traced_lines_match_a_plain_marching_squares(seed):
    xs, ys, values = rugged_grid(seed)
    for level in contour_levels(values, 5):
        lines = polylines(trace_levels(values, xs, ys, [level]))
        vertices = np.concatenate(lines)
        # every vertex lies on the bilinear surface the heatmap's cells interpolate
        surface = np.array([bilinear(values, xs, ys, x, y) for x, y in vertices])
        assert np.all(np.isfinite(surface)), "every vertex is on a finite cell"
        np.testing.assert_allclose(surface, level, rtol=0, atol=1e-9 * max(1.0, abs(level)))
        # the distinct vertices are exactly the crossed edges of the reference, each once
        reference, valid = edge_crossings(values, xs, ys, level)
        distinct = np.concatenate([line[:-1] if np.array_equal(line[0], line[-1]) else line for line in lines])
        assert len(distinct) == len(reference)
        distance = np.hypot(*(distinct[:, None, :] - reference[None, :, :]).transpose(2, 0, 1))
        assert np.all(distance.min(axis=1) < 1e-9) and np.all(distance.min(axis=0) < 1e-9)
        # each segment crosses one cell between two of its edges: one segment in a cell the
        # level enters and leaves once, two in a saddle cell, none in any other cell
        segments = np.concatenate([np.stack([line[:-1], line[1:]], axis=1) for line in lines])
        rows, columns = cell_of(segments.mean(axis=1), xs, ys)
        for (x0, y0), (x1, y1), j, i in zip(segments[:, 0], segments[:, 1], rows, columns):
            for x, y in ((x0, y0), (x1, y1)):
                on_side = min(abs(x - xs[i]), abs(x - xs[i + 1])) < 1e-12 or min(abs(y - ys[j]), abs(y - ys[j + 1])) < 1e-12
                assert on_side, "a segment runs from one side of its cell to another"
        per_cell = np.zeros_like(valid, dtype=int)
        np.add.at(per_cell, (rows, columns), 1)
        np.testing.assert_array_equal(per_cell, crossed_edges_per_cell(values, level, valid) // 2)


def test_saddle_cells_join_by_the_mean_of_their_corners():
    """One saddle cell, high (1) at (0, 0) and (1, 1), low (0) at (1, 0) and (0, 1). Below
    the centre's mean 0.5 the high corners join through the middle and the two lines cut
    off the low corners; above it the lines cut off the high corners."""
    xs, ys = np.array([0.0, 1.0]), np.array([0.0, 1.0])
    values = np.array([[1.0, 0.0], [0.0, 1.0]])  # values[j, i] at (xs[i], ys[j])
    corners = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # high, high, low, low
    for level, cut_off in ((0.4, {2, 3}), (0.6, {0, 1})):
        lines = polylines(trace_levels(values, xs, ys, [level]))
        assert len(lines) == 2 and all(len(line) == 2 for line in lines)
        nearest = {int(np.argmin(np.hypot(*(corners - line.mean(axis=0)).T))) for line in lines}
        assert nearest == cut_off


# ----------------------------------------------------------------------------- slices, log scale, stopping

def slice_landscape(values, alphas, betas):
    return Landscape(values=values, alphas=alphas, betas=betas, component="total", plane=None, method="fast")


def test_a_slice_is_traced_as_the_heatmap_colours_it():
    xs, ys, values = bowl(51, 53)
    values = values * 1e3
    values[0, 0] = 0.0  # a zero loss, raised for the log scale
    landscape = slice_landscape(values, xs, ys)
    linear = landscape_contours(landscape, False, 6)
    logarithmic = landscape_contours(landscape, True, 6)
    for got, shown in ((linear, values), (logarithmic, np.log10(clip_for_log(values)))):
        expected = trace_levels(shown, xs, ys, contour_levels(shown, 6))
        np.testing.assert_array_equal(got.x, expected.x)
        np.testing.assert_array_equal(got.y, expected.y)
    assert not np.array_equal(linear.x, logarithmic.x)


def test_a_cut_has_no_contours():
    cut = Landscape(values=np.arange(5.0), alphas=np.arange(5.0), betas=None, component="total", plane=None,
                    method="fast")
    with pytest.raises(HillwalkError, match="2-D slice"):
        landscape_contours(cut, False, 10)


def test_tracing_stops_between_levels_when_asked():
    xs, ys, values = bowl()
    asked = []

    def stop_after_three():
        asked.append(1)
        return len(asked) > 3

    assert contour_lines(values, xs, ys, 10, should_stop=stop_after_three) is None
    assert len(asked) == 4
    whole = contour_lines(values, xs, ys, 10, should_stop=lambda: False)
    np.testing.assert_array_equal(whole.x, contour_lines(values, xs, ys, 10).x)


# ----------------------------------------------------------------------------- in the window

def test_the_heatmap_draws_the_lines_the_worker_traced(small_window, qtbot):
    """Typing a contour count in the Landscape panel: the state traces in a worker and the
    heatmap draws those lines, joined, as one item that breaks at the NaN separators."""
    window, state = small_window, small_window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    figure = window.heatmap.figure
    spin = window.landscape_panel.contours
    try:
        with qtbot.waitSignal(state.contours_ready, timeout=SCENE_TIMEOUT_MS) as ready:
            type_into(spin, "3")
        qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
        landscape, lines = ready.args
        assert landscape is state.landscape and state.view.contours == 3
        expected = landscape_contours(state.landscape, state.view.log_scale, 3)
        x, y = figure.contour_item.getData()
        np.testing.assert_array_equal(x, expected.x)
        np.testing.assert_array_equal(y, expected.y)
        assert figure.contour_item.opts["connect"] == "finite"
        drawn = polylines((x, y))
        assert 3 <= len(drawn) and np.isnan(x).sum() == len(drawn) - 1
        with qtbot.waitSignal(state.contours_ready, timeout=SCENE_TIMEOUT_MS):
            type_into(spin, "0")
        qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
        assert figure.contour_item.getData()[0] is None  # no lines drawn
    finally:
        state.set_view(contours=10)
        qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_a_new_slice_brings_its_contours_from_the_same_job(small_window, qtbot):
    """The slice is shown as soon as its worker has it, and the contours follow from that
    worker: no contours job of its own (one trip through the pool less), lines equal to
    tracing the new slice."""
    window, state = small_window, small_window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    old = state.landscape
    started, shown = [], []
    start = state.jobs.start
    state.jobs.start = lambda kind, job: (started.append(kind), start(kind, job))[1]
    state.landscape_ready.connect(lambda final: shown.append(state.landscape))
    extent = window.landscape_panel.extent
    previous = extent.value()
    try:
        with qtbot.waitSignal(state.contours_ready, timeout=SCENE_TIMEOUT_MS,
                              check_params_cb=lambda landscape, lines: landscape is not old) as ready:
            type_into(extent, f"{previous * 1.5:.6g}")
        landscape, lines = ready.args
        assert landscape is state.landscape and any(item is landscape for item in shown)   # shown first
        assert "slice" in started and "contours" not in started
        expected = landscape_contours(landscape, state.view.log_scale, state.view.contours)
        np.testing.assert_array_equal(lines.x, expected.x)
        np.testing.assert_array_equal(lines.y, expected.y)
        qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    finally:
        state.jobs.start = start
        type_into(extent, f"{previous:.6g}")
        qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
