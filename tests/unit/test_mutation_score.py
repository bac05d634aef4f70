"""What `make mutate` prints last (tools/mutation_score.py), from mutmut's results and the world's tiers' results;
which area a mutant counts in and which world tests judge it (tools/mutation_world.py)."""
from __future__ import annotations

import json

import pytest

from tools.mutation_score import judges, summary
from tools.mutation_types import rejected
from tools.mutation_world import Reach, area, statuses

pytestmark = pytest.mark.unit

MUTMUT = """    chalicelib.service.funnel.x_due__mutmut_1: caught by type check
    chalicelib.service.funnel.x_due__mutmut_2: killed
    chalicelib.service.funnel.x_due__mutmut_3: timeout
    chalicelib.service.funnel.x_due__mutmut_4: survived
    chalicelib.store.repository.xǁRepositoryǁsave__mutmut_1: survived
    chalicelib.store.repository.xǁRepositoryǁsave__mutmut_2: no tests
    chalicelib.store.repository.xǁRepositoryǁsave__mutmut_3: survived
    cli.access_broker_cli.main.x_run__mutmut_1: killed
    cli.access_broker_cli.main.x_run__mutmut_2: not checked
"""
WORLD = {"chalicelib.store.repository.xǁRepositoryǁsave__mutmut_1": "killed",
         "chalicelib.store.repository.xǁRepositoryǁsave__mutmut_2": "survived"}


def test_each_judge_counts_once_and_mutants_not_judged_do_not() -> None:
    lines = summary(judges(statuses(MUTMUT), WORLD))
    assert lines[-1].startswith(
        "make mutate: 5 of 8 mutants caught (62.5%): 1 by mypy strict, 3 by the unit tier, 1 by the world's tiers; "
        "3 not caught (3 survived). By area: core 3/4 (75.0%), store 1/3 (33.3%), cli 1/1 (100.0%).")
    assert lines[0].split() == ["core", "3/4", "(75.0%):", "mypy", "1,", "unit", "tier", "2,", "world's", "tiers",
                                "0,", "not", "caught", "1"]


def test_the_world_judges_only_what_mutmut_left_standing() -> None:
    final = judges(statuses("    chalicelib.store.repository.x_f__mutmut_1: killed\n"),
                   {"chalicelib.store.repository.x_f__mutmut_1": "survived"})
    assert final == {"chalicelib.store.repository.x_f__mutmut_1": ("killed", "unit")}


def test_a_run_that_judged_nothing_says_so() -> None:
    assert summary(judges(statuses("    chalicelib.a.x_g__mutmut_1: not checked\n"), {})) == [
        "make mutate: nothing judged yet"]


@pytest.mark.parametrize("mutant, expected", [
    ("chalicelib.service.funnel.x_due__mutmut_1", "core"),
    ("chalicelib.domain.requests.xǁRequestǁnext__mutmut_1", "core"),
    ("chalicelib.slack.verify.x_verify__mutmut_1", "core"),
    ("chalicelib.slack.blocks.x_card__mutmut_1", "slack"),
    ("chalicelib.aws.iam_grants.xǁIamGrantsǁremove__mutmut_1", "aws"),
    ("chalicelib.bootstrap.x_broker__mutmut_1", "app"),
    ("cli.access_broker_cli.wait.x_wait__mutmut_1", "cli"),
    ("tools.local_sigv4.x_verify__mutmut_1", "sigv4"),
])
def test_areas(mutant: str, expected: str) -> None:
    assert area(mutant) == expected


def test_a_mutant_runs_the_most_specific_tests_reaching_it_first_within_the_budget() -> None:
    reach = Reach()
    reach.tests_by_function["m.x_f"] = {"tests/api.py::t1", "tests/api.py::t2", "tests/store.py::t1",
                                        "tests/store.py::t2", "tests/cli.py::t1"}
    reach.tests_by_function["m.x_other"] = {"tests/api.py::t1", "tests/api.py::t2", "tests/cli.py::t1"}
    reach.tests_by_function["m.x_third"] = {"tests/api.py::t1"}
    reach.seconds.update({"tests/api.py::t1": 0.4, "tests/api.py::t2": 0.2, "tests/store.py::t1": 2.0,
                          "tests/store.py::t2": 1.5, "tests/cli.py::t1": 1.0})
    # reaching one function: store t2 (1.5 s), store t1 (3.5 s); two: api t2 (3.7 s), cli t1 (4.7 s); api t1 (three
    # functions, 0.4 s) would pass 5 s. Run file by file, in the order first chosen.
    assert reach.tests_for("m.x_f__mutmut_7") == ["tests/store.py::t2", "tests/store.py::t1", "tests/api.py::t2",
                                                  "tests/cli.py::t1"]
    assert reach.tests_for("m.x_g__mutmut_1") == []
    reach.tests_by_function["m.x_h"] = {"tests/slow.py::t1"}
    reach.seconds["tests/slow.py::t1"] = 30.0
    assert reach.tests_for("m.x_h__mutmut_1") == ["tests/slow.py::t1"]  # one test however slow


def test_the_unit_tier_judges_only_the_clis_mutants_in_the_world_run() -> None:
    reach = Reach()
    for function in ("chalicelib.store.repository.x_f", "access_broker_cli.main.x_run"):
        reach.tests_by_function[function] = {"tests/unit/test_u.py::t", "tests/storage/test_s.py::t"}
    reach.seconds.update({"tests/unit/test_u.py::t": 0.01, "tests/storage/test_s.py::t": 1.0})
    assert reach.tests_for("chalicelib.store.repository.x_f__mutmut_1") == ["tests/storage/test_s.py::t"]
    assert reach.tests_for("cli.access_broker_cli.main.x_run__mutmut_1") == ["tests/unit/test_u.py::t",
                                                                             "tests/storage/test_s.py::t"]


MUTATED = '''def x_f__mutmut_orig(a: int) -> int:
    return a


def x_f__mutmut_1(a: int) -> int:
    return None


class C:
    def xǁCǁg__mutmut_orig(self) -> str:
        return "a"

    def xǁCǁg__mutmut_1(self) -> str:
        return 1
'''
REPORT = "\n".join(json.dumps({"file": "chalicelib/m.py", "line": line, "message": message, "severity": "error"})
                   for line, message in [(6, "None is not int"), (14, "int is not str"), (14, "again")])


def test_mypys_errors_name_the_mutants_they_fall_in() -> None:
    assert rejected(REPORT, {"chalicelib/m.py": MUTATED}) == {"chalicelib/m.py": {
        "chalicelib.m.x_f__mutmut_1": "None is not int", "chalicelib.m.xǁCǁg__mutmut_1": "int is not str"}}


def test_an_error_outside_every_mutant_stops_the_run_and_one_in_the_originals_copy_is_mutmuts() -> None:
    report = json.dumps({"file": "chalicelib/m.py", "line": 9, "message": "bad", "severity": "error"})
    with pytest.raises(SystemExit, match="chalicelib/m.py:9: bad is in no mutant"):
        rejected(report, {"chalicelib/m.py": MUTATED})
    in_original = json.dumps({"file": "chalicelib/m.py", "line": 2, "message": "twice", "severity": "error"})
    assert rejected(in_original, {"chalicelib/m.py": MUTATED}) == {}


def test_the_worlds_verdicts_hold_only_for_the_mutants_they_were_given_on(tmp_path, monkeypatch) -> None:
    from tools import mutation_world

    monkeypatch.setattr(mutation_world, "RESULTS", tmp_path / "world-results.json")
    kept = {"digest": "abc", "verdicts": {"m.x_f__mutmut_1": "killed"}}
    (tmp_path / "world-results.json").write_text(json.dumps(kept))
    assert mutation_world.verdicts("abc") == {"m.x_f__mutmut_1": "killed"}
    assert mutation_world.verdicts("a file changed since") == {}
