"""Accuracy (not speed) of the gradient check: differencing the rounded total loss versus
differencing its terms, on digits at W = 1e-3 * randn, all parameters, h = 1e-5.

Prints one JSON object on its last line: per loss x regularizer, the largest relative error
of each way of differencing (the analytic gradients are the same in both).
Run: .venv/bin/python benchmarks/gradcheck_roundoff.py
"""
import itertools
import json

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

from hillwalk.core.labs.gradcheck import numerical_gradient, relative_error  # noqa: E402
from hillwalk.core.models.problem import ClassifierSpec  # noqa: E402


def main():
    results = {}
    for loss, reg in itertools.product(("softmax", "svm"), ("none", "l2")):
        objective = ClassifierSpec(dataset="digits", loss=loss, regularizer=reg, lam=1e-3).build()
        theta = objective.initial_theta(1e-3, seed=0)
        analytic = objective.loss_and_grad(theta)[1]
        total = numerical_gradient(objective.loss, theta, h=1e-5)
        termwise = numerical_gradient(objective.loss_terms, theta, h=1e-5)
        results[f"{loss}+{reg}"] = {"max_rel_err_total": float(relative_error(analytic, total).max()),
                                    "max_rel_err_termwise": float(relative_error(analytic, termwise).max())}
        print(f"{loss:8s} {reg:5s} total {results[f'{loss}+{reg}']['max_rel_err_total']:.2e}  "
              f"term-wise {results[f'{loss}+{reg}']['max_rel_err_termwise']:.2e}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
