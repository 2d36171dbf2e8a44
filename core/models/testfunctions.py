"""Classic 2-D test functions with exact gradients, behind the objective interface.

Each has ``param_shape == (2,)``, ``loss``, ``loss_and_grad`` (``batch`` is ignored: there
is no data), ``evaluate_batch`` (many points at once, for landscapes), its known minima,
a default start and a view range that shows the interesting part.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import HillwalkError

TEST_FUNCTION_NAMES = ("quadratic", "rosenbrock", "beale", "himmelblau", "saddle", "monkey", "rastrigin")


class TestFunction:
    """Base class: subclasses define ``_value(x, y)`` and ``_gradient(x, y)`` on arrays."""

    name = "function"
    formula = ""
    minima: tuple = ()
    default_start = (0.0, 0.0)
    view = ((-2.0, 2.0), (-2.0, 2.0))
    param_shape = (2,)
    size = 2
    n_train = 0
    # capabilities (see core.models.interface): no data, no weights, no random start; x and y
    # are the plane. Subclasses unbounded below (saddles) set bounded_below = False.
    has_data = False
    has_regularizer = False
    has_components = False
    bounded_below = True
    supports_minibatches = False
    has_random_init = False
    has_own_plane = True
    has_layers = False
    has_batch_evaluation = True
    is_network = False
    has_step_noise = False

    def _point(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        if theta.size != 2:
            raise HillwalkError(f"{self.name} takes 2 parameters (x, y), got {theta.size}")
        return theta.reshape(2)

    def loss(self, theta) -> float:
        x, y = self._point(theta)
        return float(self._value(x, y))

    def loss_and_grad(self, theta, batch=None, need_grad=True):
        """(f(x, y), gradient of shape (2,)); ``batch`` is ignored."""
        x, y = self._point(theta)
        value = float(self._value(x, y))
        if not need_grad:
            return value, None
        return value, np.asarray(self._gradient(x, y), dtype=np.float64).reshape(np.shape(theta))

    def hessian(self, theta):
        """The exact 2 x 2 Hessian at ``theta`` (subclasses' ``_hessian(x, y)``)."""
        x, y = self._point(theta)
        return np.asarray(self._hessian(x, y), dtype=np.float64)

    def hvp(self, theta, v, batch=None):
        """The Hessian at ``theta`` times ``v`` (2,); ``batch`` is ignored."""
        return (self.hessian(theta) @ np.asarray(v, dtype=np.float64).reshape(2)).reshape(np.shape(v))

    def evaluate_batch(self, thetas, component="total"):
        """Values at many points: thetas of shape (K, 2) -> (K,)."""
        thetas = np.asarray(thetas, dtype=np.float64).reshape(-1, 2)
        return self._value(thetas[:, 0], thetas[:, 1])

    def bytes_per_point(self) -> int:
        """Working memory per point of :meth:`evaluate_batch`: a few float temporaries."""
        return 8 * 8

    def accuracy(self, theta, split="train"):
        """NaN: there is nothing to classify."""
        return float("nan")

    def describe(self) -> dict:
        return {"model": "test function", "name": self.name, "formula": self.formula,
                "minima": [list(m) for m in self.minima]}

    def distance_to_nearest_minimum(self, theta) -> float:
        point = self._point(theta)
        if not self.minima:
            return float("nan")
        return float(min(np.hypot(*(point - np.asarray(m))) for m in self.minima))


class Quadratic(TestFunction):
    """``0.5 [x y] A [x y]^T`` with ``A = R diag(1, condition) R^T``, R a rotation by
    ``angle`` degrees: an elongated bowl (a ravine) whose minimum is the origin."""

    name = "quadratic"
    minima = ((0.0, 0.0),)
    default_start = (-1.8, 1.2)

    def __init__(self, condition=20.0, angle=30.0):
        if not (math.isfinite(condition) and condition >= 1):
            raise HillwalkError(f"the condition number must be >= 1, got {condition}")
        if not math.isfinite(angle):
            raise HillwalkError(f"the rotation angle must be a number, got {angle}")
        self.condition, self.angle = float(condition), float(angle)
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        rotation = np.array([[c, -s], [s, c]])
        self.A = rotation @ np.diag([1.0, self.condition]) @ rotation.T
        self.formula = f"0.5 x^T A x, eigenvalues 1 and {self.condition:g}, axes rotated {self.angle:g} degrees"

    def _value(self, x, y):
        a = self.A
        return 0.5 * (a[0, 0] * x * x + 2 * a[0, 1] * x * y + a[1, 1] * y * y)

    def _gradient(self, x, y):
        return self.A @ np.array([x, y])

    def _hessian(self, x, y):
        return self.A

    def describe(self):
        return {**super().describe(), "condition": self.condition, "angle": self.angle}


class Rosenbrock(TestFunction):
    """``(a - x)^2 + b (y - x^2)^2``; minimum (a, a^2) in a curved valley."""

    name = "rosenbrock"
    default_start = (-1.5, 2.0)
    view = ((-2.0, 2.0), (-1.0, 3.0))

    def __init__(self, a=1.0, b=100.0):
        self.a, self.b = float(a), float(b)
        self.minima = ((self.a, self.a ** 2),)
        self.formula = f"({self.a:g} - x)^2 + {self.b:g} (y - x^2)^2"

    def _value(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def _gradient(self, x, y):
        inner = y - x * x
        return np.array([-2 * (self.a - x) - 4 * self.b * x * inner, 2 * self.b * inner])

    def _hessian(self, x, y):
        # d2/dx2 = 2 - 4 b (y - x^2) + 8 b x^2, d2/dxdy = -4 b x, d2/dy2 = 2 b
        cross = -4 * self.b * x
        return np.array([[2 - 4 * self.b * (y - x * x) + 8 * self.b * x * x, cross], [cross, 2 * self.b]])


class Beale(TestFunction):
    name = "beale"
    formula = "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2"
    minima = ((3.0, 0.5),)
    default_start = (1.0, 1.5)
    view = ((-4.5, 4.5), (-4.5, 4.5))

    def _value(self, x, y):
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2

    def _gradient(self, x, y):
        t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
        dx = 2 * t1 * (y - 1) + 2 * t2 * (y ** 2 - 1) + 2 * t3 * (y ** 3 - 1)
        dy = 2 * t1 * x + 2 * t2 * 2 * x * y + 2 * t3 * 3 * x * y ** 2
        return np.array([dx, dy])

    def _hessian(self, x, y):
        # f = sum_k t_k^2 with t_k = c_k - x + x y^k: each term adds 2 (grad t_k)(grad t_k)^T
        # + 2 t_k (Hessian of t_k), with grad t_k = (y^k - 1, k x y^(k-1)) and Hessian of t_k
        # [[0, k y^(k-1)], [k y^(k-1), k (k-1) x y^(k-2)]]
        hessian = np.zeros((2, 2))
        for k, c in ((1, 1.5), (2, 2.25), (3, 2.625)):
            t = c - x + x * y ** k
            g = np.array([y ** k - 1, k * x * y ** (k - 1)])
            cross = k * y ** (k - 1)
            second = k * (k - 1) * x * y ** (k - 2) if k > 1 else 0.0
            hessian += 2 * np.outer(g, g) + 2 * t * np.array([[0.0, cross], [cross, second]])
        return hessian


class Himmelblau(TestFunction):
    name = "himmelblau"
    formula = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
    minima = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))
    default_start = (0.0, 0.0)
    view = ((-5.0, 5.0), (-5.0, 5.0))

    def _value(self, x, y):
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2

    def _gradient(self, x, y):
        t1, t2 = x * x + y - 11, x + y * y - 7
        return np.array([4 * x * t1 + 2 * t2, 2 * t1 + 4 * y * t2])

    def _hessian(self, x, y):
        t1, t2 = x * x + y - 11, x + y * y - 7
        cross = 4 * x + 4 * y
        return np.array([[8 * x * x + 4 * t1 + 2, cross], [cross, 2 + 8 * y * y + 4 * t2]])


class Saddle(TestFunction):
    name = "saddle"
    formula = "x^2 - y^2"
    minima = ()
    bounded_below = False  # -y^2 falls without end
    default_start = (-1.5, 1e-3)
    view = ((-2.0, 2.0), (-2.0, 2.0))

    def _value(self, x, y):
        return x * x - y * y

    def _gradient(self, x, y):
        return np.array([2 * x, -2 * y])

    def _hessian(self, x, y):
        return np.array([[2.0, 0.0], [0.0, -2.0]])


class MonkeySaddle(TestFunction):
    name = "monkey"
    formula = "x^3 - 3 x y^2"
    minima = ()
    bounded_below = False  # x^3 falls without end as x -> -inf
    default_start = (1.5, 0.1)
    view = ((-2.0, 2.0), (-2.0, 2.0))

    def _value(self, x, y):
        return x ** 3 - 3 * x * y * y

    def _gradient(self, x, y):
        return np.array([3 * x * x - 3 * y * y, -6 * x * y])

    def _hessian(self, x, y):
        return np.array([[6 * x, -6 * y], [-6 * y, -6 * x]])


class Rastrigin(TestFunction):
    name = "rastrigin"
    formula = "20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)"
    minima = ((0.0, 0.0),)
    default_start = (-2.3, 2.1)
    view = ((-3.0, 3.0), (-3.0, 3.0))

    def _value(self, x, y):
        return 20 + x * x - 10 * np.cos(2 * np.pi * x) + y * y - 10 * np.cos(2 * np.pi * y)

    def _gradient(self, x, y):
        return np.array([2 * x + 20 * np.pi * np.sin(2 * np.pi * x), 2 * y + 20 * np.pi * np.sin(2 * np.pi * y)])

    def _hessian(self, x, y):
        curve = 40 * np.pi ** 2
        return np.array([[2 + curve * np.cos(2 * np.pi * x), 0.0], [0.0, 2 + curve * np.cos(2 * np.pi * y)]])


_CLASSES = {cls.name: cls for cls in (Quadratic, Rosenbrock, Beale, Himmelblau, Saddle, MonkeySaddle, Rastrigin)}


def make_test_function(name: str, **options) -> TestFunction:
    """A test function by name; ``options`` (e.g. ``condition``, ``angle`` for the
    quadratic) go to its constructor."""
    if name not in _CLASSES:
        raise HillwalkError(f"unknown test function {name!r}; choose one of {', '.join(TEST_FUNCTION_NAMES)}")
    try:
        return _CLASSES[name](**options)
    except TypeError:
        raise HillwalkError(f"{name} takes no option(s) {', '.join(options)}") from None
