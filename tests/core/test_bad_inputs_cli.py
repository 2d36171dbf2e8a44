"""Every bad input of the corpus (tests/corpus) through the command line: exit status 2
(1 for a check that must fail), exactly one line on stderr, nothing else printed, no
warning, and the folder exactly as it was before the run."""
import signal
import warnings

import pytest

from hillwalk import main
from tests.corpus import PlaceUnavailable, cli_cases, place_for

# A case that hangs fails instead of stalling the suite; generous for a slow, busy machine.
HANG_LIMIT_S = 240


class Hung(BaseException):
    """Raised in the main thread by the alarm: the command did not return."""


def _on_alarm(signum, frame):
    raise Hung(f"the command did not return within {HANG_LIMIT_S} s")


@pytest.mark.parametrize("case", cli_cases(), ids=lambda c: c.name)
def test_bad_input_on_the_command_line(case, tmp_path, capfd, monkeypatch):
    try:
        with place_for(case, tmp_path) as place:
            argv = case.cli(place)
            monkeypatch.chdir(place.folder)
            before = place.listing()
            capfd.readouterr()
            previous = signal.signal(signal.SIGALRM, _on_alarm)
            signal.alarm(HANG_LIMIT_S)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    status = main.main(argv)
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
            after = place.listing()
    except PlaceUnavailable as reason:
        pytest.skip(str(reason))
    out, err = capfd.readouterr()
    lines = err.splitlines()
    assert status == case.exit_status, f"exit {status}; stderr: {err!r}"
    assert not caught, f"warnings around the message: {[str(w.message) for w in caught]}"
    if case.exit_status == 2:
        assert len(lines) == 1 and lines[0].startswith("hillwalk: error: "), f"stderr: {err!r}"
        assert out == "", f"stdout: {out!r}"
        assert case.message.lower() in lines[0].lower(), f"message: {lines[0]!r}"
        assert after == before, "the folder changed"
    else:
        assert case.message.lower() in (out + err).lower(), f"output: {out + err!r}"
