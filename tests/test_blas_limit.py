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
