"""Hessian directions for slices (issue 15): the top two eigenvectors, or the largest and
smallest curvature, with their eigenvalues on the axes."""
import numpy as np
import pytest

from hillwalk.core.curvature import full_hessian
from hillwalk.core.errors import HillwalkError
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec


def test_hessian_directions_are_the_top_eigenvectors_with_their_eigenvalues_on_the_axes():
    objective = ClassifierSpec(dataset="iris", lam=0.01).build()
    spec = SliceSpec(center="trained", train_steps=50, directions="hessian", grid=11)
    plane = spec.plane(objective)
    exact = np.linalg.eigvalsh(full_hessian(objective, plane.center))
    assert plane.info["eigenvalue1"] == pytest.approx(exact[-1], rel=1e-8)
    assert plane.info["eigenvalue2"] == pytest.approx(exact[-2], rel=1e-8)
    assert plane.info["cosine"] == pytest.approx(0.0, abs=1e-10)
    # scaled to the centre's norm, and along them the slice curves as the eigenvalue says
    assert plane.info["norm1"] == pytest.approx(np.linalg.norm(plane.center))
    unit = plane.dir1 / plane.info["norm1"]
    h = 1e-3
    curvature = (objective.loss(plane.center + h * unit) - 2 * objective.loss(plane.center)
                 + objective.loss(plane.center - h * unit)) / h ** 2
    assert curvature == pytest.approx(exact[-1], rel=1e-4)
    assert f"lambda = {exact[-1]:.4g}" in plane.describe_axis(1)
    landscape = spec.compute(objective, plane)
    assert np.all(np.isfinite(landscape.values))


def test_minmax_directions_find_a_networks_negative_curvature():
    network = ClassifierSpec(dataset="iris", model="net", hidden=(6, 6), activation="tanh").build()
    spec = SliceSpec(center="init", directions="minmax", grid=11)
    plane = spec.plane(network)
    exact = np.linalg.eigvalsh(full_hessian(network, plane.center))
    assert exact[0] < 0 < exact[-1]
    assert plane.info["eigenvalue1"] == pytest.approx(exact[-1], rel=1e-6)
    # the bottom of a network's spectrum converges more slowly: the residual bounds the error
    assert abs(plane.info["eigenvalue2"] - exact[0]) <= plane.info["residual2"] + 1e-9 * exact[-1]
    assert "smallest eigenvector" in plane.describe_axis(2)
    assert SliceSpec(center="init", directions="hessian", cut=True).plane(network).dir2 is None


def test_hessian_directions_stop_when_asked_and_are_seeded():
    objective = ClassifierSpec(dataset="iris").build()
    spec = SliceSpec(center="init", directions="hessian")
    assert spec.plane(objective, should_stop=lambda: True) is None
    one, two = spec.plane(objective), spec.plane(objective)
    np.testing.assert_array_equal(one.dir1, two.dir1)
    with pytest.raises(HillwalkError, match="directions"):
        SliceSpec(directions="hessian-ish")
