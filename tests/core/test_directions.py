"""Directions: Gaussian, normalizations, orthogonalization, gradient, PCA, coordinates."""
import numpy as np
import pytest

from hillwalk.core.data.datasets import Dataset
from hillwalk.core.errors import HillwalkError
from hillwalk.core.landscapes.directions import (
    Plane,
    coordinate_plane,
    gradient_plane,
    interpolation_line,
    orthogonalize,
    pca_plane,
    random_plane,
)
from hillwalk.core.models.objectives import LinearClassifier


@pytest.fixture(scope="module")
def objective():
    rng = np.random.default_rng(0)
    data = Dataset(rng.standard_normal((80, 6)), rng.integers(0, 4, 80), ("a", "b", "c", "d"),
                   tuple(f"x{k}" for k in range(6)), {"name": "random"})
    return LinearClassifier(data, loss="softmax")


@pytest.fixture(scope="module")
def center(objective):
    return np.random.default_rng(1).standard_normal(objective.param_shape) * np.arange(1, 5)[:, None]


def test_filter_normalization_matches_its_definition_row_by_row(objective, center):
    plane = random_plane(objective, center, "filter", seed=3)
    raw = np.random.default_rng(3).standard_normal(center.shape)  # the same draw
    for row in range(center.shape[0]):
        np.testing.assert_allclose(np.linalg.norm(plane.dir1[row]), np.linalg.norm(center[row]), rtol=1e-12)
        expected = raw[row] / np.linalg.norm(raw[row]) * np.linalg.norm(center[row])
        np.testing.assert_allclose(plane.dir1[row], expected, rtol=1e-12)


@pytest.mark.parametrize("mode", ["layer", "model"])
def test_layer_and_model_normalization_match_the_center_norm(objective, center, mode):
    plane = random_plane(objective, center, mode, seed=0)
    assert plane.info["norm1"] == pytest.approx(np.linalg.norm(center), rel=1e-12)
    assert plane.info["norm2"] == pytest.approx(np.linalg.norm(center), rel=1e-12)


def test_directions_are_gaussian_not_uniform(objective):
    big_center = np.ones((4, 50000))  # 'none' leaves the raw draw untouched
    plane = random_plane(objective, big_center, "none", seed=0)
    entries = np.concatenate([plane.dir1.ravel(), plane.dir2.ravel()])
    kurtosis = np.mean(entries ** 4) / np.mean(entries ** 2) ** 2
    assert kurtosis == pytest.approx(3.0, abs=0.05)  # Gaussian; uniform entries would give 1.8
    assert np.mean(entries) == pytest.approx(0.0, abs=0.01) and np.std(entries) == pytest.approx(1.0, abs=0.01)


def test_orthogonalization_is_reported_and_exact(objective, center):
    skewed = random_plane(objective, center, "filter", orthogonal=False, seed=2)
    straight = random_plane(objective, center, "filter", orthogonal=True, seed=2)
    assert abs(skewed.info["cosine"]) > 1e-3  # a small problem: random directions are visibly skewed
    assert abs(straight.info["cosine"]) < 1e-12
    assert straight.info["orthogonalized"] and not skewed.info["orthogonalized"]
    # dir2 keeps the norm its normalization gave it
    assert straight.info["norm2"] == pytest.approx(skewed.info["norm2"], rel=1e-12)


def test_parallel_directions_cannot_be_orthogonalized():
    d = np.arange(1.0, 7.0)
    with pytest.raises(HillwalkError, match="parallel"):
        orthogonalize(d, 2 * d)


def test_gradient_direction_points_downhill(objective, center):
    plane = gradient_plane(objective, center, "model", seed=0)
    _, grad = objective.loss_and_grad(center)
    cosine = np.dot(plane.dir1.ravel(), -grad.ravel()) / (np.linalg.norm(plane.dir1) * np.linalg.norm(grad))
    assert cosine == pytest.approx(1.0, abs=1e-12)
    assert objective.loss(center + 1e-3 * plane.dir1) < objective.loss(center)
    assert abs(plane.info["cosine"]) < 1e-12


def test_pca_recovers_a_planted_two_dimensional_trajectory():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((300, 2)))
    t = np.linspace(0, 1, 60)
    coords = np.c_[3 * (1 - t) ** 2, np.sin(4 * t) * (1 - t)]      # a curved path ending at 0
    final = rng.standard_normal(300)
    path = final + coords @ basis.T
    plane = pca_plane(path.reshape(60, 10, 30))
    spanned = np.c_[plane.dir1.ravel(), plane.dir2.ravel()]
    projector = spanned @ np.linalg.pinv(spanned)
    np.testing.assert_allclose(projector @ basis, basis, atol=1e-10)  # same plane
    assert sum(plane.info["explained_variance"]) == pytest.approx(1.0, abs=1e-12)
    assert abs(plane.info["cosine"]) < 1e-12
    np.testing.assert_allclose(plane.center.ravel(), final)
    extent = np.abs((path - final) @ plane.dir1.ravel() / plane.info["norm1"] ** 2).max()
    assert extent == pytest.approx(1.0, rel=1e-9)  # scaled so the path spans [-1, 1]


def test_pca_needs_a_path_that_turns():
    line = np.outer(np.linspace(0, 1, 10), np.ones(5))
    with pytest.raises(HillwalkError, match="does not span two dimensions"):
        pca_plane(line)
    with pytest.raises(HillwalkError, match="at least 3"):
        pca_plane(line[:2])


def test_coordinate_plane_uses_unit_vectors(center):
    plane = coordinate_plane(center, (0, 0), (1, 0))
    assert plane.dir1[0, 0] == 1 and plane.dir1.sum() == 1 and plane.dir2[1, 0] == 1
    assert plane.info["label1"] == "theta[0, 0]" and plane.info["cosine"] == 0
    with pytest.raises(HillwalkError, match="outside the parameter shape"):
        coordinate_plane(center, (9, 0), (1, 0))
    with pytest.raises(HillwalkError, match="the same"):
        coordinate_plane(center, (1, 1), (1, 1))


def test_interpolation_line_goes_from_one_point_to_the_other(center):
    line = interpolation_line(center, 2 * center)
    np.testing.assert_allclose(line.point(1.0), 2 * center)
    assert line.is_line


def test_filter_normalization_refuses_zero_filters(objective):
    with pytest.raises(HillwalkError, match="filter 0 of W is zero"):
        random_plane(objective, np.zeros(objective.param_shape), "filter")


def test_plane_rejects_bad_directions(center):
    with pytest.raises(HillwalkError, match="direction 1 is zero"):
        Plane(center, np.zeros_like(center), None)
    with pytest.raises(HillwalkError, match="NaN"):
        Plane(center, np.full_like(center, np.nan), None)


def test_axis_labels_always_give_norms_and_cosine(objective, center):
    plane = random_plane(objective, center, "filter", orthogonal=False, seed=2)
    full, narrow = plane.describe_axis(2), plane.describe_axis(2, name_direction=False)
    cosine = f"cos(d1, d2) = {plane.info['cosine']:.2g}"
    assert "filter-normalized" in full and "filter-normalized" not in narrow
    for label in (full, narrow):
        assert label.startswith("b: ") and f"|d2| = {plane.info['norm2']:.3g}" in label and cosine in label
