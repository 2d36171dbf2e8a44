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


def _nested(depth):
    return '{"format": "hillwalk-session", "version": 2, "view": ' + "[" * depth + "]" * depth + "}"


CASES += [
    _case("session-empty", "an empty session file", "", "empty"),
    _case("session-not-json", "a PNG renamed .hillwalk.json", "\x89PNG\r\n\x1a\n", "not"),
    _case("session-deeply-nested", "JSON nested 100000 deep", _nested(100000), "nested too deeply"),
    _case("session-huge-number", "a seed of 5000 digits", '{"format": "hillwalk-session", "version": 2, "race": '
          '{"seed": ' + "9" * 5000 + "}}", "not a valid session"),
    _case("session-not-a-session", "a JSON list", "[1, 2, 3]", "a session is a JSON object"),
    _case("session-unknown-field", "an unknown field", _session(problem={"datasett": "iris"}), "unknown field"),
    _case("session-coords-nested", "coords nested", _session(slice={"coords": [[0, 1], 0, 1, 0]}), "coord"),
    _case("session-coords-short", "coords of two numbers", _session(slice={"coords": [0, 1]}), "coords must be four"),
    _case("session-seed-negative", "a negative race seed", _session(race={"seed": -3}), "seed must be a whole number"),
    _case("session-slice-seed-negative", "a negative slice seed", _session(slice={"seed": -1}), "seed must be"),
    _case("session-colormap-unknown", "an unknown colour map", _session(view={"colormap": "rainbow-ish"}),
          "unknown colour map"),
    _case("session-cut-points-text", "cut points given as text", _session(view={"cut_points": [["a", "b"], [1, 2]]}),
          "cut point"),
    _case("session-cut-points-flat", "cut points as one list", _session(view={"cut_points": [1, 2, 3, 4]}),
          "cut_points must be two"),
    _case("session-start-short", "a start of one number", _session(race={"start": [1.0]}), "start must be two"),
    _case("session-steps-huge", "10^9 steps", _session(race={"steps": 10 ** 9}), "steps must be a whole number"),
    _case("session-momentum-1.5", "momentum 1.5", _session(optimizers=[{"spec": {"method": "momentum",
                                                                                 "momentum": 1.5}}]),
          "momentum mu must be"),
    _case("session-color-bad", "an optimizer colour that is not #RRGGBB", _session(optimizers=[
        {"spec": {"method": "sgd"}, "color": "#zzz"}]), "color must be a colour"),
    _case("session-too-many-optimizers", "10000 optimizers", _session(optimizers=[{"spec": {"method": "sgd"}}] * 10000),
          "at most 32"),
    _case("session-grid-text", "a grid given as text", _session(slice={"grid": "big"}), "grid must be a whole number"),
    _case("session-contours-million", "10^6 contours", _session(view={"contours": 10 ** 6}), "contours must be"),
    _case("session-missing-data", "a session whose data file is gone: refused after its data failed to load, "
          "nothing changed", _session(problem={"dataset": "gone.csv"}), "gone.csv"),
    _case("session-view-not-object", "a view that is a list", _session(view=[1]), "'view' must be an object"),
]


def _screenshot_cli(place):
    path = _write(place, "gone.hillwalk.json", _session(problem={"dataset": "gone.csv"}))
    return ["--screenshot", str(place.folder / "shot.png"), "--session", str(path)]


CASES.append(BadInput("session-missing-data-screenshot", "session", "a screenshot of a session whose data file is "
                      "gone: refused as soon as the data fails to load, no picture", "gone.csv: no such file",
                      cli=_screenshot_cli))


def _fifo_session_cli(place):
    import os

    path = place.folder / "pipe.hillwalk.json"
    os.mkfifo(path)
    return ["render", "--session", str(path), "--out", str(place.folder / "out.npz")]


def _fifo_session_window(place):
    import os

    path = place.folder / "pipe.hillwalk.json"
    os.mkfifo(path)
    return lambda window: window.open_session(path)


CASES.append(BadInput("session-fifo", "session", "a named pipe called .hillwalk.json (reading it would wait forever)",
                      "named pipe", cli=_fifo_session_cli, window=_fifo_session_window))

CASES += [
    _case("session-component-without-data", "a 2-D function's session showing the accuracy",
          _session(problem={"objective": "rosenbrock"}, slice={"component": "accuracy"}), "accuracy"),
    _case("session-example-beyond-data", "a session showing example 100000 of iris",
          _session(problem={"dataset": "iris"}, slice={"component": "example:100000"}), "example index 100000"),
]
