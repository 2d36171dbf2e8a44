"""Bad session files: malformed, hostile or inconsistent; a session either opens
completely or changes nothing."""
import json

from . import BadInput


def _session(**parts):
    return {"format": "hillwalk-session", "version": 2, **parts}


def _write(place, name, content):
    path = place.folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _render_cli(name, content):
    def cli(place):
        path = _write(place, name, content)
        return ["render", "--session", str(path), "--out", str(place.folder / "out.npz")]
    return cli


def _open_in_window(name, content):
    def prepare(place):
        path = _write(place, name, content)
        return lambda window: window.open_session(path)
    return prepare


def _case(name, what, content, message, **extra):
    filename = f"{name}.hillwalk.json"
    return BadInput(name, "session", what, message, cli=_render_cli(filename, content),
                    window=_open_in_window(filename, content), **extra)


CASES = [
    _case("session-truncated", "a session cut off in the middle", '{"format": "hillwalk-session", "ver',
          "not valid JSON"),
    _case("session-newer", "a session from a newer Hillwalk", _session(version=99), "newer Hillwalk"),
]
