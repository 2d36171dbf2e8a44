"""Where a slice is centred: the initial weights, or weights trained by full-batch
gradient descent (so the minimum shows), with the path that led there."""
from __future__ import annotations

import numpy as np

from ..errors import HillwalkError


def train_full_batch(objective, theta0, steps=300, initial_step=1.0, record=True, progress=None,
                     should_stop=None):
    """Full-batch gradient descent with a backtracking (Armijo) step size.

    The step halves until the loss falls by at least half of what the linear model of
    the loss predicts, then grows by 1.5x for the next step; this keeps plain gradient
    descent stable on any data scale without a hand-tuned learning rate.

    An objective whose training draws new noise at every step (``has_step_noise``: a
    network with dropout in "fresh" mode) takes step k's loss, gradient and line search
    from ``objective.at_step(k)``, as a run's steps do: the centre is trained with dropout,
    not fitted to one mask. The recorded losses are then the steps' (each under its mask).

    Parameters
    ----------
    objective : objective with ``loss`` and ``loss_and_grad``
    theta0 : array of the parameter shape
    steps : int
    record : bool
        Keep every iterate (for PCA directions).
    progress : callable(fraction) or None
        Called after every step with the share of ``steps`` done.
    should_stop : callable() -> bool, or None
        Asked before every step and every halving of the step: when it returns True the
        training ends there, returning the iterates so far (the caller, who asked to
        stop, discards them).

    Returns
    -------
    theta : array of the parameter shape
    path : array (steps + 1, *param_shape) or None
    losses : array (steps + 1,)
    """
    if steps < 0 or int(steps) != steps:
        raise HillwalkError(f"the number of training steps must be a whole number >= 0, got {steps}")
    theta = np.array(theta0, dtype=np.float64)
    noisy = bool(getattr(objective, "has_step_noise", False))
    stepped = objective.at_step(0) if noisy else objective
    loss, grad = stepped.loss_and_grad(theta)
    step = float(initial_step)
    path = [theta.copy()] if record else None
    losses = [loss]
    stopped = (lambda: False) if should_stop is None else should_stop
    for k in range(int(steps)):
        squared = float(np.sum(grad * grad))
        # nothing to descend: a minimum, a stop, or a loss that overflowed (every trial
        # step would be halved down to nothing)
        if squared == 0 or stopped() or not (np.isfinite(loss) and np.isfinite(squared)):
            break
        while True:
            if stopped():
                return theta, (np.stack(path) if record else None), np.asarray(losses)
            candidate = theta - step * grad
            candidate_loss = stepped.loss(candidate)
            if candidate_loss <= loss - 0.5 * step * squared or step < 1e-14:
                break
            step *= 0.5
        theta = candidate
        if noisy:   # the next step's mask
            stepped = objective.at_step(k + 1)
        loss, grad = stepped.loss_and_grad(theta)
        step *= 1.5
        if record:
            path.append(theta.copy())
        losses.append(loss)
        if progress is not None:
            progress((k + 1) / int(steps))
    return theta, (np.stack(path) if record else None), np.asarray(losses)
