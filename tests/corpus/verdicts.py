"""Verdicts that must not lie: checks whose honest answer is FAIL (exit status 1), with
the reason in the output. A NaN or infinite derivative is a failure, never a PASS."""
from . import BadInput


def _gradcheck(*options):
    def cli(place):
        return ["gradcheck", "--dataset", "iris", *options]
    return cli


CASES = [
    # Every numerical derivative is (inf - inf) / 2h = NaN: the check compared nothing.
    # If the range table comes to refuse h > 1 on the command line (core.limits,
    # "gradcheck.h"), this case belongs to the refused values (exit 2) instead;
    # tests/core/test_verdicts.py holds the verdict itself through the core function.
    BadInput("gradcheck-h-overflows", "verdict", "gradcheck --h 1e300: the loss overflows at W + h",
             "non-finite numerical derivative (NaN or inf): h = 1e+300 is too large",
             cli=_gradcheck("--h", "1e300"), exit_status=1),
    # The L2 penalty of 1e200-sized weights overflows to inf: the loss itself is not finite.
    BadInput("gradcheck-loss-overflows", "verdict", "gradcheck --scale 1e200: the loss is inf at the checked W",
             "non-finite numerical derivative (NaN or inf): the loss itself is not finite",
             cli=_gradcheck("--scale", "1e200"), exit_status=1),
]
