"""The app's shared BLAS limit (main.SharedBlasLimit): overlapping holds end with the
libraries' own thread count restored, not with the limit left on."""
from threadpoolctl import threadpool_info

from hillwalk.main import SharedBlasLimit


def blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_overlapping_holds_restore_the_threads_when_the_last_ends():
    before = blas_threads()
    limit = SharedBlasLimit()
    first, second = limit(), limit()
    with first:
        with second:
            assert all(n == 1 for n in blas_threads())
        assert all(n == 1 for n in blas_threads())   # the first still holds it
    assert blas_threads() == before
    # not nested: the first ends while the second holds (as two jobs' chunks do)
    first, second = limit(), limit()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert all(n == 1 for n in blas_threads())
    second.__exit__(None, None, None)
    assert blas_threads() == before


WATCH_NUMPY = """
import os, sys
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and not hasattr(self, "seen"):
            self.seen = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
sys.meta_path.insert(0, watch := Watch())
"""


def idle_wait_at_numpy(code, environment=None):
    """OPENBLAS_THREAD_TIMEOUT as NumPy (and with it OpenBLAS) loads while a fresh
    interpreter runs ``code``."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env.update(environment or {})
    script = WATCH_NUMPY + code + "\nprint(getattr(watch, 'seen', 'numpy was not loaded'))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_app_and_command_line_cut_openblas_idle_wait_before_numpy_loads():
    import hillwalk

    main_py = hillwalk.__file__.replace("__init__.py", "main.py")
    as_script = (f"import runpy, sys\nsys.argv = ['main.py', '--help']\n"
                 f"try:\n    runpy.run_path({main_py!r}, run_name='__main__')\nexcept SystemExit:\n    pass")
    assert idle_wait_at_numpy(as_script) == "16"
    assert idle_wait_at_numpy("import hillwalk.main") == "16"   # python -m hillwalk, the console scripts


def test_the_core_library_leaves_the_blas_environment_alone():
    assert idle_wait_at_numpy("import hillwalk.core.landscapes.landscape") == "None"
    # a value the user set is kept
    assert idle_wait_at_numpy("import hillwalk.main", {"OPENBLAS_THREAD_TIMEOUT": "20"}) == "20"
