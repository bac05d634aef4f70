"""What `make mutate` prints last (tools/mutation_score.py), from mypy's verdicts (kept where mutmut keeps its) and the
tests' (tools/mutation_tests.py); which area a mutant counts in and which tests judge it; how a fork runs them."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tools.mutation_reach import Reach
from tools.mutation_score import by_function, judges, summary
from tools.mutation_tests import area, statuses
from tools.mutation_types import rejected

pytestmark = pytest.mark.unit

MUTMUT = """    chalicelib.service.funnel.x_due__mutmut_1: caught by type check
    chalicelib.service.funnel.x_due__mutmut_2: not checked
    chalicelib.service.funnel.x_due__mutmut_3: not checked
    chalicelib.service.funnel.x_due__mutmut_4: not checked
    chalicelib.store.repository.xǁRepositoryǁsave__mutmut_1: not checked
    chalicelib.store.repository.xǁRepositoryǁsave__mutmut_2: not checked
    chalicelib.store.repository.xǁRepositoryǁsave__mutmut_3: not checked
    cli.access_broker_cli.main.x_run__mutmut_1: not checked
    cli.access_broker_cli.main.x_run__mutmut_2: not checked
"""
TESTS = {"chalicelib.service.funnel.x_due__mutmut_2": "killed", "chalicelib.service.funnel.x_due__mutmut_3": "timeout",
         "chalicelib.service.funnel.x_due__mutmut_4": "survived",
         "chalicelib.store.repository.xǁRepositoryǁsave__mutmut_1": "killed",
         "chalicelib.store.repository.xǁRepositoryǁsave__mutmut_2": "no tests",
         "chalicelib.store.repository.xǁRepositoryǁsave__mutmut_3": "survived",
         "cli.access_broker_cli.main.x_run__mutmut_1": "killed"}


def test_each_judge_counts_once_and_mutants_not_judged_do_not() -> None:
    lines = summary(judges(statuses(MUTMUT), TESTS))
    assert lines[-1].startswith(
        "make mutate: 5 of 8 mutants caught (62.5%): 1 by mypy strict, 4 by the tests; "
        "3 not caught (1 no tests, 2 survived). By area: core 3/4 (75.0%), store 1/3 (33.3%), cli 1/1 (100.0%).")
    assert lines[0].split() == ["core", "3/4", "(75.0%):", "mypy", "1,", "tests", "2,", "not", "caught", "1"]


def test_what_was_not_caught_reads_one_line_per_function_with_why() -> None:
    assert by_function(judges(statuses(MUTMUT), TESTS)) == [
        "chalicelib.service.funnel.x_due: 4 survived (not read yet)",
        "chalicelib.store.repository.xǁRepositoryǁsave: 2 no tests (not read yet); 3 survived (not read yet)"]
    final = {**judges(statuses(MUTMUT), TESTS), "chalicelib.service.funnel.x_due__mutmut_9": ("survived", "none"),
             "chalicelib.service.funnel.x_due__mutmut_6": ("survived", "none")}
    reasons = {"chalicelib.service.funnel.x_due__mutmut_4": "a log line's words",
               "chalicelib.service.funnel.x_due__mutmut_9": "a log line's words",
               "chalicelib.store.repository.xǁRepositoryǁsave__mutmut_2": "unreachable"}
    assert by_function(final, reasons) == [
        "chalicelib.service.funnel.x_due: 4, 9 survived (a log line's words); 6 survived (not read yet)",
        "chalicelib.store.repository.xǁRepositoryǁsave: 2 no tests (unreachable); 3 survived (not read yet)"]


def test_mypys_word_stands_over_a_tests_verdict_kept_from_before() -> None:
    final = judges(statuses("    chalicelib.store.repository.x_f__mutmut_1: caught by type check\n"),
                   {"chalicelib.store.repository.x_f__mutmut_1": "survived"})
    assert final == {"chalicelib.store.repository.x_f__mutmut_1": ("caught by type check", "mypy")}


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


def test_a_mutant_runs_the_cheapest_world_tests_reaching_it_file_by_file_in_turn_within_the_budget(
        monkeypatch) -> None:
    monkeypatch.setattr("tools.mutation_reach.BUDGET_S", 5.0)
    reach = Reach()
    reach.tests_by_function["m.x_f"] = {"tests/api.py::t1", "tests/api.py::t2", "tests/store.py::t1",
                                        "tests/store.py::t2", "tests/cli.py::t1"}
    reach.seconds.update({"tests/api.py::t1": 0.4, "tests/api.py::t2": 0.2, "tests/store.py::t1": 2.0,
                          "tests/store.py::t2": 1.5, "tests/cli.py::t1": 1.0})
    # in turn: api t2 (0.2 s), cli t1 (1.2 s), store t2 (2.7 s), api t1 (3.1 s); store t1 would pass 5 s.
    # Run file by file, in the order first chosen.
    assert reach.tests_for("m.x_f__mutmut_7") == ["tests/api.py::t2", "tests/api.py::t1", "tests/cli.py::t1",
                                                  "tests/store.py::t2"]
    assert reach.tests_for("m.x_g__mutmut_1") == []
    reach.tests_by_function["m.x_h"] = {"tests/slow.py::t1"}
    reach.seconds["tests/slow.py::t1"] = 30.0
    assert reach.tests_for("m.x_h__mutmut_1") == ["tests/slow.py::t1"]  # one test however slow


def test_files_take_turns_and_a_test_that_caught_the_functions_last_mutant_goes_first(monkeypatch) -> None:
    monkeypatch.setattr("tools.mutation_reach.BUDGET_S", 5.0)
    reach = Reach()
    cases = [f"tests/sigv4.py::t[{n}]" for n in range(4)]
    reach.tests_by_function["m.x_f"] = {*cases, "tests/pages.py::t1", "tests/pages.py::t2"}
    reach.seconds.update({**{case: 1.0 for case in cases}, "tests/pages.py::t1": 1.5, "tests/pages.py::t2": 1.5})
    # four cases of one test would fill the budget; the other file gets its turn after the first case
    assert reach.tests_for("m.x_f__mutmut_1") == ["tests/sigv4.py::t[0]", "tests/sigv4.py::t[1]",
                                                  "tests/pages.py::t1", "tests/pages.py::t2"]
    assert reach.tests_for("m.x_f__mutmut_2", first=["tests/pages.py::t2", "tests/elsewhere.py::t"]) == [
        "tests/pages.py::t2", "tests/pages.py::t1", "tests/sigv4.py::t[0]", "tests/sigv4.py::t[1]"]


def test_the_unit_tier_spends_its_own_budget_before_the_worlds_tests_spend_theirs(monkeypatch) -> None:
    monkeypatch.setattr("tools.mutation_reach.UNIT_BUDGET_S", 0.5)
    monkeypatch.setattr("tools.mutation_reach.BUDGET_S", 2.0)
    reach = Reach()
    unit = [f"tests/unit/test_rules.py::t[{n}]" for n in range(8)]
    reach.tests_by_function["m.x_f"] = {*unit, "tests/api/test_a.py::t", "tests/storage/test_s.py::t"}
    reach.seconds.update({**{case: 0.1 for case in unit}, "tests/api/test_a.py::t": 1.5,
                          "tests/storage/test_s.py::t": 1.0})
    reach.tests_by_function["m.x_other"] = {"tests/api/test_a.py::t"}
    # all the cases of the one unit file that fit 0.5 s, then the world's most specific that fit 2 s
    assert reach.tests_for("m.x_f__mutmut_1") == [*unit[:5], "tests/storage/test_s.py::t"]


def test_a_files_fixtures_count_once_against_the_budget(monkeypatch) -> None:
    monkeypatch.setattr("tools.mutation_reach.BUDGET_S", 2.0)
    reach = Reach()
    served = [f"tests/api/test_served.py::t{n}" for n in range(3)]
    reach.tests_by_function["m.x_f"] = {*served, "tests/storage/test_s.py::t"}
    reach.seconds.update({**{t: 0.2 for t in served}, "tests/storage/test_s.py::t": 0.9})
    reach.fixtures["tests/api/test_served.py"] = 1.5  # a served app, started again in every fork
    # files in turn: the storage test (0.9), then the served file's first (1.5 + 0.2 more than fits 2 s)
    assert reach.tests_for("m.x_f__mutmut_1") == ["tests/storage/test_s.py::t"]
    assert reach.cost(served) == pytest.approx(2.1)
    reach.fixtures["tests/api/test_served.py"] = 0.4  # now the cheaper file: its tests go first
    assert reach.tests_for("m.x_f__mutmut_1") == [*served, "tests/storage/test_s.py::t"]


def test_the_clean_run_takes_a_files_fixtures_out_of_its_first_tests_time() -> None:
    from tools.mutation_reach import Recorder

    reach = Reach()
    recorder = Recorder(reach, Path("/nowhere"))
    for test, setup, call in [("tests/a.py::t1", 2.1, 0.3), ("tests/a.py::t2", 0.1, 0.2), ("tests/a.py::t3", 0.1, 0.4),
                              ("tests/b.py::t1", 0.0, 0.1)]:
        for when, duration in [("setup", setup), ("call", call)]:
            recorder.pytest_runtest_makereport(SimpleNamespace(nodeid=test), SimpleNamespace(when=when,
                                                                                               duration=duration))
    recorder.settle()
    assert reach.fixtures == {"tests/a.py": pytest.approx(2.0), "tests/b.py": 0.0}
    assert reach.seconds["tests/a.py::t1"] == pytest.approx(0.4)


def test_a_unit_test_reaching_a_function_goes_before_the_world_tests_that_reach_it_too() -> None:
    reach = Reach()
    reach.tests_by_function["chalicelib.store.repository.x_f"] = {"tests/unit/test_u.py::t",
                                                                  "tests/storage/test_s.py::t"}
    reach.tests_by_function["access_broker_cli.main.x_run"] = {"tests/unit/test_u.py::t", "tests/storage/test_s.py::t"}
    reach.tests_by_function["chalicelib.store.repository.x_g"] = {"tests/storage/test_s.py::t"}
    reach.seconds.update({"tests/unit/test_u.py::t": 0.01, "tests/storage/test_s.py::t": 1.0})
    assert reach.tests_for("chalicelib.store.repository.x_f__mutmut_1") == ["tests/unit/test_u.py::t",
                                                                            "tests/storage/test_s.py::t"]
    # the CLI's mutants are named by path (cli.access_broker_cli...) and run as access_broker_cli...
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


def test_verdicts_hold_while_their_module_is_the_same_and_those_not_caught_are_judged_again_on_new_tests(
        tmp_path, monkeypatch) -> None:
    from tools import mutation_tests
    from tools.mutation_tests import Kept, Stamp, kept

    monkeypatch.setattr(mutation_tests, "RESULTS", tmp_path / "tests-results.json")
    (tmp_path / "tests-results.json").write_text(json.dumps({
        "code": {"m": "m1", "n": "n1"}, "whole": "w1",
        "verdicts": {"m.x_f__mutmut_1": "killed", "m.x_f__mutmut_2": "survived", "n.xǁCǁg__mutmut_1": "killed",
                     "n.xǁCǁg__mutmut_2": "no tests"},
        "caught_by": {"m.x_f__mutmut_1": ["tests/unit/test_m.py::t", 0.0]}, "stale": ["n.xǁCǁg__mutmut_2"]}))
    everything = {"m.x_f__mutmut_1": "killed", "m.x_f__mutmut_2": "survived", "n.xǁCǁg__mutmut_1": "killed",
                  "n.xǁCǁg__mutmut_2": "no tests"}
    caught_by = {"m.x_f__mutmut_1": ("tests/unit/test_m.py::t", 0.0)}
    # the same tree: a stale verdict (from a narrowed run) stays stale
    assert kept(Stamp({"m": "m1", "n": "n1"}, "w1")) == Kept(everything, caught_by, {"n.xǁCǁg__mutmut_2"})
    assert kept(Stamp({"m": "m1", "n": "n1"}, "a test added")) == Kept(
        everything, caught_by, {"m.x_f__mutmut_2", "n.xǁCǁg__mutmut_2"})
    assert kept(Stamp({"m": "m changed", "n": "n1"}, "w3")) == Kept(
        {"n.xǁCǁg__mutmut_1": "killed", "n.xǁCǁg__mutmut_2": "no tests"}, {}, {"n.xǁCǁg__mutmut_2"})


def test_each_module_of_the_product_has_its_digest_and_every_file_is_in_the_whole(tmp_path, monkeypatch) -> None:
    from tools import mutation_tests
    from tools.mutation_tests import Stamp

    monkeypatch.setattr(mutation_tests, "MUTANTS", tmp_path)
    for name in ["chalicelib/a.py", "chalicelib/store/__init__.py", "cli/access_broker_cli/main.py",
                 "tests/unit/test_a.py", "tools/world.py", "tools/mutation_tests.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    before = Stamp.now()
    assert sorted(before.code) == ["chalicelib.a", "chalicelib.store", "cli.access_broker_cli.main"]
    (tmp_path / "tests/unit/test_a.py").write_text("x = 2\n")
    after_a_test = Stamp.now()
    assert (after_a_test.code, after_a_test.whole != before.whole) == (before.code, True)
    (tmp_path / "tools/mutation_tests.py").write_text("x = 2\n")  # this tool's own files are not judged
    assert Stamp.now() == after_a_test
    (tmp_path / "chalicelib/a.py").write_text("x = 2\n")
    assert Stamp.now().code["chalicelib.a"] != before.code["chalicelib.a"]


def test_the_clean_run_shares_the_tests_between_workers_each_file_whole_in_one() -> None:
    from tools.mutation_tests import shares

    items = [SimpleNamespace(nodeid=f"tests/{file}.py::t{n}") for file, count in [("a", 1), ("b", 4), ("c", 2),
                                                                                  ("d", 2)] for n in range(count)]
    first, second = shares(items, 2)
    # the largest file first, each to the share with fewest tests so far; each share in the order collected
    assert [i.nodeid for i in first] == ["tests/a.py::t0", "tests/b.py::t0", "tests/b.py::t1", "tests/b.py::t2",
                                         "tests/b.py::t3"]
    assert [i.nodeid for i in second] == ["tests/c.py::t0", "tests/c.py::t1", "tests/d.py::t0", "tests/d.py::t1"]


def test_one_world_test_judges_whatever_its_fixtures_cost_until_a_test_has_caught_something_there(monkeypatch) -> None:
    monkeypatch.setattr("tools.mutation_reach.UNIT_BUDGET_S", 0.5)
    monkeypatch.setattr("tools.mutation_reach.BUDGET_S", 1.0)
    reach = Reach()
    reach.tests_by_function["m.x_f"] = {"tests/unit/test_rules.py::t", "tests/cli/test_served.py::t1",
                                        "tests/cli/test_served.py::t2"}
    reach.seconds.update({"tests/unit/test_rules.py::t": 0.1, "tests/cli/test_served.py::t1": 0.2,
                          "tests/cli/test_served.py::t2": 0.3})
    reach.fixtures["tests/cli/test_served.py"] = 2.0  # a served app: more than the world's whole budget
    assert reach.tests_for("m.x_f__mutmut_1") == ["tests/unit/test_rules.py::t", "tests/cli/test_served.py::t1"]
    # once the unit test has caught one of the function's mutants, it alone (the world's within what is left)
    assert reach.tests_for("m.x_f__mutmut_2", first=["tests/unit/test_rules.py::t"]) == ["tests/unit/test_rules.py::t"]


def test_a_test_that_would_not_fit_is_passed_over_for_cheaper_ones_after_it(monkeypatch) -> None:
    monkeypatch.setattr("tools.mutation_reach.BUDGET_S", 1.0)
    reach = Reach()
    cheap = [f"tests/cli/test_sigv4.py::t{n}" for n in range(3)]
    reach.tests_by_function["m.x_f"] = {*cheap, "tests/cli/test_end_to_end.py::t"}
    reach.seconds.update({**{t: 0.2 for t in cheap}, "tests/cli/test_end_to_end.py::t": 0.9})
    # in turn: sigv4 t0 (0.2), end to end (1.1: passed over), sigv4 t1 (0.4), sigv4 t2 (0.6)
    assert reach.tests_for("m.x_f__mutmut_1") == cheap
