"""Print the README's table of valid ranges from core/limits.py (``python -m tools.ranges_table``);
``--write`` replaces the table between the README's markers."""
import sys
from pathlib import Path

from hillwalk.core.limits import RANGES

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- ranges:begin -->", "<!-- ranges:end -->"


def table() -> str:
    rows = ["| setting | valid values | why this bound |", "|---|---|---|"]
    for name, valid in RANGES.items():
        rows.append(f"| `{name}`: {valid.what} | {valid.describe()} | {valid.why or ''} |")
    return "\n".join(rows)


def readme_with_table(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + table() + "\n" + text[end:]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--write"]:
        README.write_text(readme_with_table(README.read_text()))
        print(f"wrote the table into {README}")
    else:
        print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
