"""The table of valid ranges (core/limits.py): its checks, and the README's copy of it."""
import math
import re

import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.limits import RANGES, check, check_memory
from tools.ranges_table import README, readme_with_table


def test_the_readme_table_is_the_one_the_code_checks():
    text = README.read_text()
    assert readme_with_table(text) == text, "README's table of valid ranges is stale: python -m tools.ranges_table --write"


@pytest.mark.parametrize("name", sorted(RANGES))
def test_every_range_accepts_its_ends_and_refuses_beyond_them(name):
    valid = RANGES[name]
    inside = [valid.low if not valid.open_low else None, valid.high if not valid.open_high else None]
    for value in filter(lambda v: v is not None, inside):
        assert check(name, int(value) if valid.integer else value) == value
    below = valid.low - (1 if valid.integer else max(abs(valid.low), 1.0) * 1e-3)
    above = valid.high + (1 if valid.integer else max(abs(valid.high), 1.0) * 1e-3)
    for value in (below, above, math.nan, math.inf, "1", True):
        with pytest.raises(HillwalkError, match=re.escape(f"{valid.what} must be")):
            check(name, value)
    if valid.open_low:
        with pytest.raises(HillwalkError):
            check(name, valid.low)
    if valid.integer:
        with pytest.raises(HillwalkError, match="whole number"):
            check(name, valid.low + 0.5)


def test_a_memory_estimate_over_the_budget_is_refused_with_the_estimate():
    check_memory(1e6, "a small task", "nothing to fix", budget=2e6)
    with pytest.raises(HillwalkError, match=r"would need about 2.79 GB of memory, over the 1 GB budget; use less"):
        check_memory(3e9, "a big task", "use less", budget=2 ** 30)
