"""Count the sanity-checks lab's bug warnings over every shipped data set, both losses,
the linear model and the network, and every preprocessing (``python -m tools.sanity_survey``).

Every shipped loss and gradient is correct, so every warning that blames one is false.
Works against older versions of core/labs/lessons.py too (run it with PYTHONPATH set to
an older checkout), whose lab warned "far off: suspect a bug in the loss" when the loss at
W = 1e-4 randn was 1% or more off ln C / (C - 1) delta, and "not fitting a tiny subset
signals a bug" when 20 examples were not fitted, and did not run for networks.
"""
import sys
import warnings
from collections import Counter

from hillwalk.core.data.datasets import PREPROCESSING_METHODS
from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs.lessons import sanity_checks
from hillwalk.core.models.problem import ClassifierSpec

DATASETS = ("digits", "iris", "wine", "spiral", "blobs", "xor", "circles")


def warnings_of(report):
    """(loss warning, subset warning) the lab shows for ``report``."""
    if hasattr(report, "suspects_bug"):  # the checks that hold their own assumptions
        return report.initial.verdict == "bug", report.overfit.suspects_bug
    return report.initial.relative_gap >= 0.01, not report.overfit.fits


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    methods = argv or list(PREPROCESSING_METHODS)
    totals = Counter()
    for preprocessing in methods:
        for dataset in DATASETS:
            for loss in ("softmax", "svm"):
                for model in ("linear", "net"):
                    objective = ClassifierSpec(dataset=dataset, loss=loss, preprocessing=preprocessing,
                                               model=model).build()
                    totals["runs"] += 1
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            report = sanity_checks(objective)
                    except HillwalkError:
                        totals["not available"] += 1
                        continue
                    loss_warning, subset_warning = warnings_of(report)
                    totals["loss warnings"] += loss_warning
                    totals["subset warnings"] += subset_warning
                    if loss_warning or subset_warning:
                        print(f"{preprocessing:11s} {dataset:8s} {loss:7s} {model:6s} "
                              f"{'loss ' if loss_warning else ''}{'subset' if subset_warning else ''}")
    print(", ".join(f"{key}: {value}" for key, value in totals.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
