"""The cut's projection of plane points (gui/panels/cut.py) against the plain one: the
nearest point of the cut line to each point, in the parameter space itself."""
from types import SimpleNamespace

import numpy as np
import pytest

from hillwalk.gui.panels.cut import cut_coefficients, positions_on_cut


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_positions_on_the_cut_are_the_nearest_points_in_parameter_space(seed):
    rng = np.random.default_rng(seed)
    # directions neither unit nor orthogonal, of a (3, 5) parameter
    plane = SimpleNamespace(dir1=rng.normal(size=(3, 5)) * 2.0, dir2=rng.normal(size=(3, 5)) * 0.5)
    origin, direction = rng.normal(size=2), rng.normal(size=2)
    a, b = rng.normal(size=40), rng.normal(size=40)
    d1, d2 = plane.dir1.ravel(), plane.dir2.ravel()
    offsets = np.outer(a - origin[0], d1) + np.outer(b - origin[1], d2)   # (40, 15)
    line = direction[0] * d1 + direction[1] * d2
    expected = offsets @ line / (line @ line)
    np.testing.assert_allclose(positions_on_cut(a, b, origin, direction, plane), expected, rtol=1e-12, atol=1e-12)
    coefficients = cut_coefficients(origin, direction, plane)
    np.testing.assert_allclose(positions_on_cut(a, b, origin, direction, plane, coefficients), expected,
                               rtol=1e-12, atol=1e-12)
