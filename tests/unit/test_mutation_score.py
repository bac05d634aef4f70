"""What `make mutate` prints last (tools/mutation_score.py), from mutmut's per-mutant results."""
from __future__ import annotations

from tools.mutation_score import statuses, summary

RESULTS = """    chalicelib.a.x_f__mutmut_1: caught by type check
    chalicelib.a.x_f__mutmut_2: killed
    chalicelib.a.x_f__mutmut_3: killed
    chalicelib.a.x_f__mutmut_4: timeout
    chalicelib.a.x_f__mutmut_5: survived
    chalicelib.a.x_f__mutmut_6: no tests
    chalicelib.a.x_g__mutmut_1: not checked
"""


def test_both_gates_count_and_mutants_not_judged_do_not() -> None:
    line = summary(statuses(RESULTS))
    assert line.startswith("make mutate: 4 of 6 mutants caught (66.7%): 1 by mypy strict, 3 of the 5 left by the "
                           "unit tier (60.0%); 2 not caught (1 no tests, 1 survived).")


def test_a_run_that_judged_nothing_says_so() -> None:
    assert summary(statuses("    chalicelib.a.x_g__mutmut_1: not checked\n")) == "make mutate: nothing judged yet"
