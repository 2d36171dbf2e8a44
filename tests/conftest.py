"""Test set-up shared by core and GUI tests. Imports no Qt: core tests must run without it."""
import os

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

# Without a display Qt aborts the whole run; GUI tests are headless by design. A test run
# that needs a real X server (the 3-D view) chooses its platform with HILLWALK_TEST_QPA.
os.environ["QT_QPA_PLATFORM"] = os.environ.get("HILLWALK_TEST_QPA", "offscreen")
