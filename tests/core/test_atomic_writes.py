"""Files that cannot be written: the landscape and trajectory files (NPZ, CSV) on a full
disk, in a read-only folder, and with a writer that fails half-way, give one message and
leave the folder exactly as it was (an existing file keeps its bytes, no temporary is
left); and a name that is not UTF-8, under a strict locale, is written and reported."""
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.io import export
from tests.corpus import BadInput, PlaceUnavailable, place_for

ROOT = Path(__file__).resolve().parents[2]
OLD = b"an earlier file of the same name\n"


@pytest.fixture(scope="module")
def results():
    """A small landscape (a 5 x 5 slice) and a two-method race on a 2-D function."""
    from hillwalk.core import experiment
    from hillwalk.core.landscapes.slices import SliceSpec
    from hillwalk.core.models.problem import ClassifierSpec
    from hillwalk.core.models.testfunctions import make_test_function
    from hillwalk.core.optimization.optimizers import OptimizerSpec
    from hillwalk.core.optimization.trajectory import Race

    spec = SliceSpec(grid=5, train_steps=1)
    objective = experiment.build_objective(ClassifierSpec(dataset="iris"))
    plane = experiment.build_plane(objective, spec)
    landscape = experiment.compute_landscape(objective, plane, spec)
    function = make_test_function("rosenbrock")
    race = Race(function, [OptimizerSpec("sgd", lr=1e-3), OptimizerSpec("adam", lr=1e-2)], function.default_start,
                20, 0)
    return landscape, objective, race.run_to_end()


def writers(landscape, objective, trajectories):
    """(name, write(path)) for every writer of core.io.export."""
    meta = export.landscape_meta(landscape, {}, objective)
    return [("slice.npz", lambda p: export.save_landscape_npz(p, landscape, meta, objective, save_data=True)),
            ("slice.csv", lambda p: export.save_landscape_csv(p, landscape)),
            ("paths.csv", lambda p: export.save_trajectories_csv(p, trajectories)),
            ("paths.npz", lambda p: export.save_trajectories_npz(p, trajectories, {"format": "test"}))]


WRITER_NAMES = ["slice.npz", "slice.csv", "paths.csv", "paths.npz"]


def listing(folder):
    """{name: bytes} of everything in ``folder`` (hidden temporaries included)."""
    return {path.name: path.read_bytes() for path in sorted(Path(folder).iterdir())}


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs (skipped with the reason where it cannot be mounted)."""
    case = BadInput("small-disk", "output", "a small tmpfs", "", cli=lambda place: [], needs="full-disk")
    try:
        with place_for(case, tmp_path, size_kb=1024) as place:
            yield place
    except PlaceUnavailable as reason:
        pytest.skip(str(reason))


@pytest.mark.parametrize("name", WRITER_NAMES)
def test_a_written_file_has_its_own_name_and_no_temporary_is_left(results, tmp_path, name):
    write = dict(writers(*results))[name]
    (tmp_path / name).write_bytes(OLD)
    assert write(tmp_path / name) == tmp_path / name
    assert sorted(os.listdir(tmp_path)) == [name]  # no ".part" file, and no "slice.npz.npz"
    content = (tmp_path / name).read_bytes()
    assert content != OLD
    if name.endswith(".npz"):
        with np.load(tmp_path / name) as archive:
            assert "meta" in archive.files
    else:
        assert content.decode().splitlines()[0].split(",")[:2] in (["a", "b"], ["method", "step"])


@pytest.mark.parametrize("name", WRITER_NAMES)
@pytest.mark.parametrize("existing", [True, False], ids=["over-a-file", "new"])
def test_a_full_disk_leaves_the_folder_exactly_as_it_was(results, small_disk, name, existing):
    target = small_disk.folder / name
    if existing:
        target.write_bytes(OLD)
    small_disk.fill_disk()
    before = listing(small_disk.folder)
    with pytest.raises(HillwalkError) as raised:
        dict(writers(*results))[name](target)
    message = str(raised.value)
    assert "the disk is full" in message and str(target) in message and "\n" not in message
    assert ("the existing file is unchanged" if existing else "nothing was written") in message
    assert listing(small_disk.folder) == before


@pytest.mark.parametrize("name", WRITER_NAMES)
def test_a_read_only_folder_is_refused_and_the_old_file_kept(results, small_disk, name):
    target = small_disk.folder / name
    target.write_bytes(OLD)
    small_disk.make_read_only()
    with pytest.raises(HillwalkError, match="read-only"):
        dict(writers(*results))[name](target)
    assert listing(small_disk.folder) == {name: OLD}


@pytest.mark.parametrize("name", WRITER_NAMES)
def test_a_writer_failing_half_way_leaves_the_old_file(results, tmp_path, monkeypatch, name):
    """No tmpfs needed: the file object fails after part of the file went out, as a
    disk that fills up during the write does."""
    import builtins

    real_open = builtins.open
    written = []

    class FillingUp:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            if written:  # the first write goes out, the next finds the disk full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written.append(len(data))
            return self.handle.write(data)

        def __getattr__(self, attribute):
            return getattr(self.handle, attribute)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def failing_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return FillingUp(handle) if "w" in mode and Path(file).parent == tmp_path else handle

    (tmp_path / name).write_bytes(OLD)
    monkeypatch.setattr(builtins, "open", failing_open)
    with pytest.raises(HillwalkError, match="the disk is full"):
        dict(writers(*results))[name](tmp_path / name)
    monkeypatch.undo()
    assert written, "the writer never wrote"
    assert listing(tmp_path) == {name: OLD}


def test_a_missing_folder_is_named_before_anything_is_computed(results, tmp_path):
    for name, write in writers(*results):
        with pytest.raises(HillwalkError, match="no such folder"):
            write(tmp_path / "missing" / name)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------ a strict, non-UTF-8 locale
STRICT_LOCALE = {"LC_ALL": "POSIX", "LANG": "POSIX", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
                 "PYTHONIOENCODING": "ascii"}


def strict_environment():
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("LC_", "LANG", "PYTHON"))}
    environment.update(STRICT_LOCALE, PYTHONPATH=str(ROOT))
    return environment


def test_the_strict_locale_is_really_strict():
    """The environment of the test below: ASCII file names and a strict ASCII stdout
    (without it the test would pass whatever main.py does)."""
    probe = "import sys; print(sys.getfilesystemencoding(), sys.stdout.encoding, sys.flags.utf8_mode)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=strict_environment(),
                            timeout=120, check=False)
    assert result.stdout.split() == ["ascii", "ascii", "0"]


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_a_non_utf8_output_name_under_a_strict_locale_is_written_and_reported(tmp_path, suffix):
    name = b"caf\xe9-landscape" + suffix.encode()  # Latin-1 bytes: not UTF-8, not ASCII
    folder = os.fsencode(tmp_path)
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "render", "--dataset", "iris", "--grid", "5",
                             "--train-steps", "1", "--out", folder + b"/" + name],
                            capture_output=True, env=strict_environment(), cwd=tmp_path, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert os.listdir(folder) == [name]  # exactly that name, no temporary left
    assert result.stderr == b""
    text = result.stdout.decode("ascii")  # printable: the odd byte is escaped, not sent raw
    assert text.startswith("wrote ") and all(c.isprintable() or c == "\n" for c in text)
    if suffix == ".npz":
        with np.load(os.path.join(folder, name)) as archive:
            assert archive["loss"].shape == (5, 5)
