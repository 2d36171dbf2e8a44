"""Write the corpus of bad inputs into a folder, one subfolder a case, and print the
command line that tries each (``python -m tools.make_bad_inputs FOLDER``).

Cases that need a full or read-only disk are listed, not made: they need a tmpfs (the
tests mount one).
"""
import shlex
import sys
from pathlib import Path

from tests.corpus import Place, all_cases

MAIN = Path(__file__).resolve().parents[1] / "main.py"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tools.make_bad_inputs FOLDER", file=sys.stderr)
        return 2
    root = Path(argv[0])
    root.mkdir(parents=True, exist_ok=True)
    for case in all_cases():
        if case.cli is None:
            print(f"# {case.name} ({case.kind}): window only: {case.what}")
            continue
        if case.needs:
            print(f"# {case.name} ({case.kind}): needs a {case.needs} tmpfs: {case.what}")
            continue
        folder = root / case.name
        folder.mkdir(exist_ok=True)
        argv = case.cli(Place(folder))
        print(f"# {case.what}\n(cd {shlex.quote(str(folder))} && python {shlex.quote(str(MAIN))} {shlex.join(argv)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
