"""Which tests judge a mutant in make mutate (tools/mutation_tests.py): what the clean run recorded (which tests reach
which function, what each costs) and the choice made from it for each mutant, within a budget of measured time."""
from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

# Of measured test time per mutant: a survivor costs about their sum, and the fixtures its tests set up again. Of the
# kills in a run with 1.5 s + 2.5 s, 99% came within the first second of tests (the function's catchers first), and
# survivors spent three quarters of the run: these budgets keep a run from nothing under 30 minutes on 2 cores.
UNIT_BUDGET_S = 0.75  # the unit tier's tests (milliseconds each)
BUDGET_S = 1.0  # the world's, and those that caught the function's other mutants
UNIT = "tests/unit/"


def as_run(mutant: str) -> str:
    """The name the trampolines know a mutant by: mutmut names the CLI's by path (cli.access_broker_cli.main...),
    the CLI's modules are access_broker_cli.main..."""
    return mutant.removeprefix("cli.") if mutant.startswith("cli.access_broker_cli.") else mutant


def function_of(mutant: str) -> str:
    """The trampolines' name of the function a mutant changes: `module.x_name__mutmut_3` -> `module.x_name`."""
    return as_run(mutant).rpartition("__mutmut_")[0]


def file_of(test: str) -> str:
    return test.partition("::")[0]


@dataclass
class Reach:
    """Which tests reach which function; each test's measured time, and each file's fixtures: what a fork sets up
    again before the file's first test runs (measured in the clean run as that test's setup beyond the file's usual)."""
    tests_by_function: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    fixtures: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _breadth: Counter[str] = field(default_factory=Counter, repr=False)  # how many functions each test reaches

    def tests_for(self, mutant: str, first: list[str] | tuple[str, ...] = ()) -> list[str]:
        """The tests that judge `mutant`, of those reaching its function: `first` (the tests that caught its
        function's other mutants); then the unit tests, the most specific first (reaching the fewest functions),
        then the cheapest (with its file's fixtures), while they fit UNIT_BUDGET_S; then the world's tests, one file
        at a time in turn (a test's many cases do not spend the budget alone), files and tests within them the
        cheapest first (a test whose app runs in another process reaches little here: no measure of focus), while
        they fit what `first` left of BUDGET_S. A file's fixtures count once, with its first test chosen. One test
        at least, and one of the world's when `first` names none (code only the world's tests reach, behind an
        expensive fixture, is judged by one of them at least until they catch something there). Run file by file in
        the order chosen (each file's fixtures set up once)."""
        if not self._breadth:
            self._breadth.update(Counter(t for tests in self.tests_by_function.values() for t in tests))
        reaching = self.tests_by_function.get(function_of(mutant), set())
        known = [t for t in first if t in reaching]
        ranked = sorted(set(reaching) - set(known), key=lambda t: (self._breadth[t], self.cost([t]), t))
        by_file: dict[str, list[str]] = {}
        for test in sorted([t for t in ranked if not t.startswith(UNIT)], key=lambda t: (self.cost([t]), t)):
            by_file.setdefault(file_of(test), []).append(test)
        in_turn = [t for turn in zip_longest(*by_file.values()) for t in turn if t is not None]
        chosen = self._within(known, BUDGET_S, [], at_least_one=True)
        chosen += self._within([t for t in ranked if t.startswith(UNIT)], UNIT_BUDGET_S, chosen,
                               at_least_one=not chosen)
        chosen += self._within(in_turn, BUDGET_S - self.cost(chosen[:len(known)]), chosen, at_least_one=not known)
        files = list(dict.fromkeys(file_of(t) for t in chosen))
        return sorted(chosen, key=lambda t: files.index(file_of(t)))

    def cost(self, tests: list[str]) -> float:
        """What running `tests` in a fork costs, as measured: each test, and each file's fixtures once."""
        return sum(self.seconds[t] for t in tests) + sum(self.fixtures[f] for f in {file_of(t) for t in tests})

    def _within(self, tests: list[str], budget: float, before: list[str], at_least_one: bool) -> list[str]:
        """Of `tests` in order, those whose cost still fits `budget` (one that would not is passed over for the next),
        their files' fixtures counted unless a test `before` set them up; the first whatever it costs if
        `at_least_one`."""
        chosen: list[str] = []
        for test in tests:
            if (chosen or not at_least_one) and self.cost(before + chosen + [test]) - self.cost(before) > budget:
                continue
            chosen.append(test)
        return chosen

    def add(self, other: Reach) -> None:
        """What another share of the clean run recorded (other files' tests)."""
        for function, tests in other.tests_by_function.items():
            self.tests_by_function[function] |= tests
        self.seconds.update(other.seconds)
        self.fixtures.update(other.fixtures)

    def to_json(self) -> dict[str, Any]:
        return {"tests_by_function": {k: sorted(v) for k, v in self.tests_by_function.items()},
                "seconds": dict(self.seconds), "fixtures": dict(self.fixtures)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Reach:
        reach = cls()
        for function, tests in doc["tests_by_function"].items():
            reach.tests_by_function[function] = set(tests)
        reach.seconds.update(doc["seconds"])
        reach.fixtures.update(doc.get("fixtures", {}))
        return reach


class Recorder:
    """pytest plugin for the clean run: what each test reached, in this process and in the CLI's."""

    def __init__(self, reach: Reach, hits_dir: Path) -> None:
        self.reach, self.hits_dir = reach, hits_dir
        self.setups: dict[str, dict[str, float]] = defaultdict(dict)  # file -> test -> its setup, in run order

    def pytest_runtest_teardown(self, item: Any, nextitem: Any) -> None:
        from mutmut.state import state

        reached = set(state()._stats)
        state()._stats.clear()
        for report in self.hits_dir.glob("*.json"):
            reached.update(json.loads(report.read_text()))
            report.unlink()
        for function in reached:
            self.reach.tests_by_function[function].add(item.nodeid)

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        self.reach.seconds[item.nodeid] += call.duration  # setup, call and teardown: what rerunning it costs
        if call.when == "setup":
            self.setups[file_of(item.nodeid)][item.nodeid] = call.duration

    def settle(self) -> None:
        """Each file's fixtures: its first test's setup beyond the file's median, taken out of that test's time."""
        for file, setups in self.setups.items():
            first = next(iter(setups))
            extra = max(0.0, setups[first] - statistics.median(setups.values()))
            self.reach.fixtures[file] = extra
            self.reach.seconds[first] -= extra
