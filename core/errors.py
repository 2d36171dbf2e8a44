"""The one exception type that user-caused problems raise in Hillwalk's core."""


class HillwalkError(Exception):
    """A problem the user can fix: bad input file, bad setting, impossible request.

    The message always says what is wrong and how to fix it. The GUI shows it in a dialog
    or the status bar; the command line prints it on one line and exits with status 2.
    """


def require_choice(value, choices, what: str):
    """``value`` if it is one of ``choices``; otherwise a :class:`HillwalkError` that names
    the setting ``what``, the bad value and every valid one."""
    if value not in choices:
        raise HillwalkError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
    return value
