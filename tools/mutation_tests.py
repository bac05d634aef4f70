"""make mutate's second judge: the tests, for every mutant mypy strict let through (tools/mutation_types.py).

One pytest session collects every test of TESTS once, in mutmut's copy (mutants/); then, without running a test
itself, it forks:

1. Once, the clean run, in WORKERS forks (each a share of the files, whole, on its own world): every test runs with
   mutmut's "stats" trampolines on, recording which tests reach which function and how long each takes
   (tools/mutation_reach.py); the CLI's own processes report theirs through tools/mutation_hits/sitecustomize.py. A
   failing clean run stops here: it would make every mutant look caught. Kept in mutants/tests-stats.json until a
   file of mutants/ changes.
2. Each mutant, in a fork of that collected session: the tests that reach its function (those that caught its
   function's other mutants first, then the unit tests, then the world's file by file in turn: Reach.tests_for),
   within UNIT_BUDGET_S and BUDGET_S of their measured cost, run as pytest runs them (fixtures set up and torn
   down) until the first failure. Tests against the AWS world get a moto server lent to their worker, emptied and
   seeded again when a mutant's first such test asks for it (tools/world.lent_world). Two workers. A mutant no
   test reaches is "no tests"; one whose tests hang past its deadline is killed with its children, a "timeout"
   (caught, as mutmut counts it).

A fork costs milliseconds (botocore's models are parsed and the heap frozen before the first: nothing a fork
inherits is parsed again or copied by a collection); pytest.main per mutant (as mutmut runs) costs a collection,
which is most of a unit test's mutant. Verdicts: mutants/tests-results.json (name -> mutmut's status words, and the
test that caught each), kept while the mutant's module is the same (those not caught are judged again once any test
changed: kept()): a stopped run goes on where it stopped, and after a new test only what was not caught is judged
again. tools/mutation_score reads them with mypy's.
"""
from __future__ import annotations

import contextlib
import fnmatch
import gc
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from tools.mutation_reach import Reach, Recorder, as_run, file_of, function_of

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
STATS = MUTANTS / "tests-stats.json"
RESULTS = MUTANTS / "tests-results.json"
HITS_SITE = Path(__file__).resolve().parent / "mutation_hits"
PRODUCT = ("chalicelib/", "cli/access_broker_cli/", "tools/local_sigv4.py")  # what is mutated; the rest serves tests
WORKERS = 2

# Every tier that judges product code in this process or the CLI's. Left out: the browser's and `make run`'s tests
# (other processes, minutes), DynamoDB Local's twins of the storage tests (moto's judge the same code), the world's
# own tests (tests/integration judge tools/world, not the product), the deploy's (chalice package), this tool's own
# (mutmut's copy of them tests the copy of this tool it made), and tests that read the source as text (mutmut's copy
# is not the checkout: no Makefile, mutated files).
TESTS = ["tests/unit", "tests/storage", "tests/expiry", "tests/api", "tests/slack", "tests/security", "tests/iam",
         "tests/directory", "tests/oncall", "tests/cli", "tests/perf",
         "tests/integration/test_iam_directory.py"]
LEFT_OUT = ["tests/unit/test_architecture.py", "tests/unit/test_docs_links.py", "tests/unit/test_mutation_score.py",
            "tests/api/test_console_page_in_chromium.py", "tests/api/test_console_ready_in_chromium.py",
            "tests/oncall/test_make_run_pagerduty.py", "tests/security/test_schemathesis.py",
            "tests/security/test_broker_policy.py"]
AS_TEXT = ["tests/security/test_audit.py::test_no_code_path_updates_or_deletes_events",
           "tests/iam/test_evaluator.py::test_the_harness_looks_for_the_version_make_installs"]
# -s: the forks' output goes nowhere, and pytest's own capture would share its files between them.
PYTEST_ARGS = ["--rootdir=.", "-p", "no:cacheprovider", "-p", "no:randomly", "-m", "not ddblocal", "-q", "-s",
               "--tb=no", *(f"--ignore={path}" for path in LEFT_OUT), *(f"--deselect={test}" for test in AS_TEXT)]

# The core: what make mutate mutated before it took the whole product, counted apart (it keeps >= 95%).
CORE = ["chalicelib.access_rules.*", "chalicelib.service.*", "chalicelib.domain.*", "chalicelib.slack.verify.*",
        "chalicelib.aws.links.*"]
BY_TYPES = "caught by type check"
CAUGHT = {"killed", "timeout"}  # a mutant that hangs the tests is noticed too
# A fork still running this long past three times its tests' measured cost has hung (a paging loop, a poll that never
# ends). At 20 s the run of b696ae8 spent 721 s of fork time on 32 of them; forks that finished took 0.10 s (killed)
# and 1.42 s (survived) on average.
HUNG_AFTER_S = 5
ORDER = ["core", "sigv4", "store", "aws", "cli", "app", "slack", "routes"]  # a stopped run has whole areas


def area(mutant: str) -> str:
    """Where a mutant lives, as the report counts it: core, cli, sigv4, a chalicelib package, or app (the rest)."""
    if any(fnmatch.fnmatchcase(mutant, pattern) for pattern in CORE):
        return "core"
    if mutant.startswith("cli.access_broker_cli."):
        return "cli"
    if mutant.startswith("tools."):
        return "sigv4"
    parts = mutant.split(".")
    return parts[1] if len(parts) > 3 and parts[1] in {"store", "aws", "slack", "routes"} else "app"


def for_child_processes() -> dict[str, str]:
    """What a test's child process running this tree's Python (the CLI) needs to run the code the test runs: this
    tree's cli/ first on its path; under make mutate, the mutant, and where to say what it reached."""
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent / "cli")}
    if "MUTANT_UNDER_TEST" in os.environ:
        env["MUTANT_UNDER_TEST"] = os.environ["MUTANT_UNDER_TEST"]
    if "MUTATION_HITS_DIR" in os.environ:
        env["MUTATION_HITS_DIR"] = os.environ["MUTATION_HITS_DIR"]
        env["PYTHONPATH"] = f"{HITS_SITE}{os.pathsep}{env['PYTHONPATH']}"
    return env


@dataclass(frozen=True)
class Stamp:
    """What a clean run and a verdict were made on: a digest of each module of the product in mutmut's copy (its
    mutants), and one of every Python file there (with the tests and the world; not these tools)."""
    code: dict[str, str]
    whole: str

    @classmethod
    def now(cls) -> Stamp:
        code, whole = {}, hashlib.sha256()
        for path in sorted(MUTANTS.rglob("*.py")):
            name = str(path.relative_to(MUTANTS))
            if ".mypy_cache" in path.parts or path.name.startswith("mutation_") or "mutation_hits" in path.parts:
                continue
            whole.update(name.encode())
            whole.update(path.read_bytes())
            if name.startswith(PRODUCT):
                code[name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")] = hashlib.sha256(
                    path.read_bytes()).hexdigest()
        return cls(code, whole.hexdigest())


def module_of(mutant: str) -> str:
    """`chalicelib.store.repository.xǁRepositoryǁget__mutmut_3` -> `chalicelib.store.repository` (mutmut's name)."""
    return mutant.rpartition("__mutmut_")[0].rpartition(".")[0]


def statuses(lines: str) -> dict[str, str]:
    """`mutmut results --all true` (one `name: status` line per mutant) as {name: status}."""
    return {name.strip(): status.strip() for name, _, status in
            (line.rpartition(": ") for line in lines.splitlines() if ": " in line)}


def mutmut_statuses() -> dict[str, str]:
    found = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"],
                           capture_output=True, text=True, cwd=ROOT, check=True)
    return statuses(found.stdout)


def parse_models_once() -> None:
    """botocore's models, parsed in this process before any fork: the product's slimmed ones and the full ones the
    tests' own clients read. Loaders share what they parsed in test processes (tools/world.share_parsed_models, from
    the tests' conftest), so no fork parses them again."""
    import botocore.session

    from chalicelib.aws.clients import MODELS_DIR, OPERATIONS

    product = botocore.session.get_session()
    product.set_config_variable("data_path", str(MODELS_DIR))
    for botocore_session in (product, botocore.session.get_session()):
        for service in OPERATIONS:
            botocore_session.create_client(service, region_name="us-east-1", aws_access_key_id="parse",
                                           aws_secret_access_key="parse")


def shares(items: list[Any], count: int) -> list[list[Any]]:
    """`items` in `count` shares of about as many tests, each file whole in one (its fixtures set up once), in the
    order collected."""
    by_file: dict[str, list[Any]] = {}
    for item in items:
        by_file.setdefault(file_of(item.nodeid), []).append(item)
    sizes, chosen = [0] * count, {}
    for file in sorted(by_file, key=lambda f: -len(by_file[f])):
        chosen[file] = sizes.index(min(sizes))
        sizes[chosen[file]] += len(by_file[file])
    return [[item for item in items if chosen[file_of(item.nodeid)] == n] for n in range(count)]


def run_items(session: Any, items: list[Any]) -> str | None:
    """Runs `items` in this process as pytest's own loop would (each test's fixtures set up as it needs them and
    torn down when the next no longer does), stopping at the first failure: the failing test's id, or None."""
    for index, item in enumerate(items):
        following = items[index + 1] if index + 1 < len(items) else None
        item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
        if session.testsfailed:
            if following is not None:
                session._setupstate.teardown_exact(None)  # what the failed test's successor would have kept
            return str(item.nodeid)
    return None


def in_child(work: Any) -> int:
    """Runs `work()` in a fork leading its own process group (a hung mutant's children die with it), its output
    nowhere; returns the pid. The fork's exit code is work()'s."""
    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        os.setsid()
        nowhere = os.open(os.devnull, os.O_WRONLY)
        os.dup2(nowhere, 1)
        os.dup2(nowhere, 2)
        code = int(work())
    finally:
        os._exit(code)


def exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def status_of(code: int) -> str:
    return {0: "survived", 1: "killed"}.get(code, "timeout" if code == -signal.SIGKILL else "suspicious")


@dataclass
class Judge:
    """pytest plugin: takes over the collected session's run loop (step 1, then step 2) and runs no test itself."""
    candidates: list[str]
    stamp: Stamp
    ports: list[int]
    earlier: Kept  # what this run adds to: verdicts, the test that caught each (and the seconds before it), stale
    say: Any  # print, to the terminal pytest's output does not reach
    broken: bool = False  # the clean run failed: nothing judged

    @staticmethod
    def _with_world(port: int) -> None:
        os.environ["ACCESS_BROKER_TEST_WORLD_PORT"] = str(port)

    def clean_run(self, session: Any) -> Reach | None:
        """Step 1, in WORKERS forks (each a share of the files, on its own world); None (and why, said) if a test fails
        without a mutant."""
        saved = json.loads(STATS.read_text()) if STATS.exists() else {}
        if saved.get("whole") == self.stamp.whole:
            return Reach.from_json(saved["reach"])
        began = time.monotonic()
        self.say(f"tests: the clean run records which of {len(session.items)} tests reach what")
        reach = Reach()
        with contextlib.ExitStack() as stack:
            runs = []
            for items, port in zip(shares(session.items, len(self.ports)), self.ports):
                hits = stack.enter_context(tempfile.TemporaryDirectory(prefix="mutation-hits-"))
                out = stack.enter_context(tempfile.NamedTemporaryFile(suffix=".json"))
                runs.append((in_child(self._recording(session, items, port, Path(hits), Path(out.name))), out.name))
            for pid, out in runs:
                code, said = exit_code(pid), json.loads(Path(out).read_text() or "{}")
                if code != 0:
                    self.say(f"the tests fail without a mutant (exit {code}; {said.get('failed', 'no test named')}): "
                             f"every mutant would look caught. See why: cd mutants && ../.venv/bin/python -m pytest "
                             f"{said.get('failed', ' '.join(TESTS))}")
                    return None
                reach.add(Reach.from_json(said))
        STATS.write_text(json.dumps({"whole": self.stamp.whole, "reach": reach.to_json()}))
        self.say(f"  done in {time.monotonic() - began:.0f} s")
        return reach

    def _recording(self, session: Any, items: list[Any], port: int, hits: Path, out: Path) -> Any:
        """A share of the clean run, as a fork runs it: `items` with mutmut's trampolines recording, on `port`'s
        world; what they reached (or the test that failed) written to `out`."""
        from mutmut.mutation.trampoline import set_mutant_under_test

        def run() -> int:
            set_mutant_under_test("stats")
            self._with_world(port)
            os.environ["MUTATION_HITS_DIR"] = str(hits)
            reach = Reach()
            recorder = Recorder(reach, hits)
            session.config.pluginmanager.register(recorder, "mutation-recorder")
            failed = run_items(session, items)
            recorder.settle()
            out.write_text(json.dumps({"failed": failed} if failed else reach.to_json()))
            return 0 if failed is None else 1

        return run

    def judge(self, session: Any, items: dict[str, Any], mutant: str, tests: list[str], port: int) -> tuple[int, int]:
        """Step 2 for one mutant: the fork's pid, and the pipe where it says which test failed."""
        from mutmut.mutation.trampoline import set_mutant_under_test

        said, saying = os.pipe()

        def run() -> int:
            os.close(said)
            set_mutant_under_test(as_run(mutant))
            self._with_world(port)
            failed = run_items(session, [items[t] for t in tests])
            os.write(saying, (failed or "").encode())
            return 0 if failed is None else 1

        pid = in_child(run)
        os.close(saying)
        return pid, said

    def judged(self, session: Any, reach: Reach) -> Iterator[tuple[str, str, float]]:
        """Runs the candidates WORKERS at a time, each worker on its own lent world; yields (mutant, status, the
        seconds its fork took)."""
        items = {item.nodeid: item for item in session.items}
        reach.tests_by_function = defaultdict(set, {f: {t for t in tests if t in items}
                                                    for f, tests in reach.tests_by_function.items()})
        queue = [(m, reach.tests_for(m)) for m in self.candidates]
        for mutant, tests in [q for q in queue if not q[1]]:
            yield mutant, "no tests", 0.0
        # Area by area (a run stopped early leaves whole areas judged), the cheapest first within each.
        queue = sorted([q for q in queue if q[1]],
                       key=lambda q: (ORDER.index(area(q[0])), reach.cost(q[1])))
        catchers: dict[str, list[str]] = defaultdict(list)  # function -> tests that caught its mutants, latest first
        free, running = list(self.ports), {}  # pid -> (mutant, tests, port, deadline, pipe, started)
        try:
            while queue or running:
                while queue and free:
                    mutant = queue.pop(0)[0]
                    tests = reach.tests_for(mutant, catchers[function_of(mutant)])
                    port = free.pop()
                    started = time.monotonic()
                    pid, said = self.judge(session, items, mutant, tests, port)
                    deadline = started + HUNG_AFTER_S + 3 * reach.cost(tests)
                    running[pid] = (mutant, tests, port, deadline, said, started)
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    for late, (_, _, _, deadline, _, _) in list(running.items()):
                        if time.monotonic() > deadline:
                            with contextlib.suppress(ProcessLookupError):
                                os.killpg(late, signal.SIGKILL)  # the tests hung: a timeout, caught (as mutmut)
                    time.sleep(0.01)
                    continue
                if pid not in running:
                    continue  # a grandchild the fork left behind, reparented here
                mutant, tests, port, _, said, started = running.pop(pid)
                free.append(port)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)  # what the fork's tests left running
                failed = os.read(said, 65536).decode()
                os.close(said)
                if failed:
                    known = catchers[function_of(mutant)]
                    known[:] = [failed] + [t for t in known if t != failed]
                    before = tests[:tests.index(failed)] if failed in tests else []
                    self.earlier.caught_by[mutant] = (failed, round(reach.cost(before), 3))
                yield mutant, status_of(os.waitstatus_to_exitcode(status)), time.monotonic() - started
        finally:  # stopped early (Ctrl-C): no fork goes on judging
            for pid in running:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)

    def pytest_runtestloop(self, session: Any) -> bool:
        parse_models_once()
        gc.collect()
        gc.freeze()  # what the forks inherit stays as it is: no collection in a fork walks (and so copies) it
        reach = self.clean_run(session)
        if reach is None:
            self.broken = True
            return True
        began, counts, seconds = time.monotonic(), Counter[str](), Counter[str]()
        self.say(f"tests: {len(self.candidates)} mutants mypy let through")
        for done, (mutant, status, took) in enumerate(self.judged(session, reach), 1):
            seconds[status] += took
            self.earlier.verdicts[mutant] = status
            self.earlier.stale.discard(mutant)
            if status not in CAUGHT:
                self.earlier.caught_by.pop(mutant, None)
            counts[status] += 1
            if done % 100 == 0 or done == len(self.candidates):
                self.save()
                self.say(f"  {done}/{len(self.candidates)} in {time.monotonic() - began:.0f} s (at {area(mutant)}): "
                         + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        self.say(f"  done in {time.monotonic() - began:.0f} s; the forks' time: " + ", ".join(
            f"{status} {seconds[status]:.0f} s ({seconds[status] / n:.2f} s each)"
            for status, n in sorted(counts.items()) if seconds[status]))
        return True  # the session's own loop runs nothing

    def save(self) -> None:
        RESULTS.write_text(json.dumps({"code": self.stamp.code, "whole": self.stamp.whole,
                                       "verdicts": self.earlier.verdicts, "caught_by": self.earlier.caught_by,
                                       "stale": sorted(self.earlier.stale)}, indent=1, sort_keys=True))


@dataclass
class Kept:
    """What an earlier run found that still holds: verdicts, which test caught what, and the mutants not caught on
    tests that have changed since (to judge again; until then their old verdict counts: it can only understate)."""
    verdicts: dict[str, str] = field(default_factory=dict)
    caught_by: dict[str, tuple[str, float]] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)


def kept(stamp: Stamp) -> Kept:
    """The verdicts of the mutants whose module is the same as when they were judged (as mutmut, a change in one
    module is not taken to change another's verdicts); those not caught are stale once any other file changed."""
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    before = saved.get("code") if isinstance(saved.get("code"), dict) else {}
    verdicts = {name: status for name, status in saved.get("verdicts", {}).items()
                if before.get(module_of(name), "") == stamp.code.get(module_of(name))}
    stale = {name for name, status in verdicts.items() if status not in CAUGHT and
             (saved.get("whole") != stamp.whole or name in saved.get("stale", []))}
    return Kept(verdicts, {name: (test, before_s) for name, (test, before_s) in saved.get("caught_by", {}).items()
                           if name in verdicts}, stale)


def main(patterns: list[str]) -> int:
    stamp = Stamp.now()
    earlier = kept(stamp)
    # A run goes on where the last one stopped, and judges again what was not caught on other tests; a narrowed run
    # (MUTANTS=...) does so for the mutants it names, and keeps the rest as it was.
    candidates = sorted(name for name, status in mutmut_statuses().items()
                        if status != BY_TYPES and (name not in earlier.verdicts or name in earlier.stale)
                        and (not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)))
    say = open(os.dup(1), "w", buffering=1).write  # noqa: SIM115 (the terminal's own copy, for the whole run)
    if not candidates:
        say("tests: every mutant mypy let through is judged\n")
        return 0
    # As mutmut runs its tests: mutants/ first on the path, and from inside it.
    sys.path[:] = [str(MUTANTS), str(MUTANTS / "cli")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT]
    for name in [m for m in sys.modules if m == "tools" or m.startswith("tools.")]:
        del sys.modules[name]  # imported from the checkout to start this: tools.local_sigv4 must be mutmut's copy
    os.chdir(MUTANTS)
    import pytest

    from tools.world import Emulator

    emulators = [Emulator.start() for _ in range(WORKERS)]
    try:
        judge = Judge(candidates, stamp, [e.port for e in emulators], earlier, lambda line: say(line + "\n"))
        with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
            pytest.main([*PYTEST_ARGS, *TESTS], plugins=[judge])
        if judge.broken:
            return 1
        judge.save()
    finally:
        for emulator in emulators:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
