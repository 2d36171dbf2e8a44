"""Test set-up shared by core and GUI tests. Imports no Qt: core tests must run without it."""
import os

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

import pytest

# Without a display Qt aborts the whole run; GUI tests are headless by design. A test run
# that needs a real X server (the 3-D view) chooses its platform with HILLWALK_TEST_QPA.
os.environ["QT_QPA_PLATFORM"] = os.environ.get("HILLWALK_TEST_QPA", "offscreen")


@pytest.fixture(autouse=True)
def parallelism_restored():
    """Every test ends with the parallelism it found: the command line's own ``main()``,
    which tests call in-process, sets one worker per core with BLAS held to one thread for
    the rest of the process, and a later test would otherwise run on what an earlier one
    left."""
    from hillwalk.core.landscapes.landscape import get_parallelism, set_parallelism

    before = get_parallelism()
    yield
    set_parallelism(before)
