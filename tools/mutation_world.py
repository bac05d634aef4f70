"""make mutate's third judge: the tests against the local AWS world, for the mutants the unit tier cannot reach.

mypy strict (tools/mutation_types.py) and the fast unit tier (mutmut) judge every mutant of the product first. What
the unit tier cannot reach (the store on DynamoDB, IAM and STS through boto3, the routes behind chalice, Slack's
requests, the CLI in its own process) is judged here, outside the core only (the core is the unit tier's:
docs/testing.md):

1. Once: every test of WORLD_TESTS runs clean in mutmut's copy (mutants/) with mutmut's "stats" trampolines on,
   recording which tests reach which function and how long each takes; the CLI's own processes report theirs through
   tools/mutation_hits/sitecustomize.py. A failing clean run stops here: it would make every mutant look caught. Kept
   in mutants/world-stats.json until a file of mutants/ changes.
2. Each mutant outside the core that mutmut left standing (survived, or reached by no unit test) runs in a fork of a
   process that already imported every test, with the world tests that reach its function (the most specific
   first, up to BUDGET_S of their measured time), stopping at the first failure, on a moto server lent to its
   worker and emptied and seeded again for each mutant (tools/world.lent_world). A mutant no world test reaches
   stays "no tests".

Verdicts: mutants/world-results.json (name -> mutmut's status words, with the digest of mutants/ they hold for); a
stopped run goes on where it stopped. tools/mutation_score reads them with mutmut's.
"""
from __future__ import annotations

import contextlib
import fnmatch
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

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
STATS = MUTANTS / "world-stats.json"
RESULTS = MUTANTS / "world-results.json"
HITS_SITE = Path(__file__).resolve().parent / "mutation_hits"
WORKERS = 2
BUDGET_S = 5.0  # of measured test time per mutant: the fastest files first; a survivor costs at most about this

# The world's tiers that judge product code in this process or the CLI's, and the unit tier for the CLI, whose
# mutants mutmut cannot run (it names them cli.access_broker_cli.*; they run as access_broker_cli.*). Left out: the
# browser's and `make run`'s tests (other processes, minutes), DynamoDB Local's twins of the storage tests (moto's
# judge the same code), the world's own tests (tests/integration judge tools/world, not the product), the deploy's
# (chalice package).
WORLD_TESTS = ["tests/unit", "tests/storage", "tests/expiry", "tests/api", "tests/slack", "tests/security", "tests/iam",
               "tests/directory", "tests/oncall", "tests/cli", "tests/perf/test_call_counts.py",
               "tests/integration/test_iam_directory.py"]
LEFT_OUT = ["tests/unit/test_architecture.py", "tests/unit/test_docs_links.py",  # source read as text, as setup.cfg
            "tests/api/test_console_page_in_chromium.py", "tests/api/test_console_ready_in_chromium.py",
            "tests/oncall/test_make_run_pagerduty.py", "tests/security/test_schemathesis.py",
            "tests/security/test_broker_policy.py"]
# Tests that read the tree as text (mutmut's copy is its own, without the Makefile): they judge no behaviour.
AS_TEXT = ["tests/security/test_audit.py::test_no_code_path_updates_or_deletes_events",
           "tests/iam/test_evaluator.py::test_the_harness_looks_for_the_version_make_installs"]
PYTEST_ARGS = ["--rootdir=.", "-p", "no:cacheprovider", "-p", "no:randomly", "-m", "not ddblocal", "-q",
               "--tb=no", *(f"--ignore={path}" for path in LEFT_OUT), *(f"--deselect={test}" for test in AS_TEXT)]

# The core: judged by mypy and the unit tier alone, as when it was all make mutate mutated (docs/testing.md).
CORE = ["chalicelib.access_rules.*", "chalicelib.service.*", "chalicelib.domain.*", "chalicelib.slack.verify.*",
        "chalicelib.aws.links.*"]
NOT_CAUGHT = {"survived", "no tests"}
ORDER = ["sigv4", "store", "aws", "cli", "app", "slack", "routes", "core"]  # the adapters and the CLI first


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


def as_run(mutant: str) -> str:
    """The name the trampolines know a mutant by: mutmut names the CLI's by path (cli.access_broker_cli.main...),
    the CLI's modules are access_broker_cli.main..."""
    return mutant.removeprefix("cli.") if mutant.startswith("cli.access_broker_cli.") else mutant


def function_of(mutant: str) -> str:
    """The trampolines' name of the function a mutant changes: `module.x_name__mutmut_3` -> `module.x_name`."""
    return as_run(mutant).rpartition("__mutmut_")[0]


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


@dataclass
class Reach:
    """Which world tests reach which function, and each test's measured time."""
    tests_by_function: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _breadth: Counter[str] = field(default_factory=Counter, repr=False)  # how many functions each test reaches

    def tests_for(self, mutant: str) -> list[str]:
        """The tests that judge `mutant`: of those reaching its function (the unit tier's only for the CLI: mutmut
        ran them for the rest), the most specific first (reaching the fewest functions: a storage test before an
        API test that also stores), then the fastest, while they fit BUDGET_S (one at least); run file by file in
        that order (each file's fixtures set up once)."""
        if not self._breadth:
            self._breadth.update(Counter(t for tests in self.tests_by_function.values() for t in tests))
        reaching = sorted((t for t in self.tests_by_function.get(function_of(mutant), set())
                           if area(mutant) == "cli" or not t.startswith("tests/unit/")),
                          key=lambda t: (self._breadth[t], self.seconds[t], t))
        chosen: list[str] = []
        spent = 0.0
        for test in reaching:
            if chosen and spent + self.seconds[test] > BUDGET_S:
                break
            chosen.append(test)
            spent += self.seconds[test]
        files = list(dict.fromkeys(t.partition("::")[0] for t in chosen))
        return sorted(chosen, key=lambda t: files.index(t.partition("::")[0]))

    def to_json(self) -> dict[str, Any]:
        return {"tests_by_function": {k: sorted(v) for k, v in self.tests_by_function.items()},
                "seconds": dict(self.seconds)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Reach:
        reach = cls()
        for function, tests in doc["tests_by_function"].items():
            reach.tests_by_function[function] = set(tests)
        reach.seconds.update(doc["seconds"])
        return reach


def digest() -> str:
    """Of every Python file mutmut's copy holds (mutants, tests, the world; not these tools): the clean run and the
    verdicts stand until one changes."""
    sha = hashlib.sha256()
    for path in sorted(MUTANTS.rglob("*.py")):
        if ".mypy_cache" not in path.parts and not path.name.startswith("mutation_") and \
                "mutation_hits" not in path.parts:
            sha.update(str(path.relative_to(MUTANTS)).encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


def statuses(lines: str) -> dict[str, str]:
    """`mutmut results --all true` (one `name: status` line per mutant) as {name: status}."""
    return {name.strip(): status.strip() for name, _, status in
            (line.rpartition(": ") for line in lines.splitlines() if ": " in line)}


def mutmut_statuses() -> dict[str, str]:
    found = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"],
                           capture_output=True, text=True, cwd=ROOT, check=True)
    return statuses(found.stdout)


class Recorder:
    """pytest plugin for the clean run: what each test reached, in this process and in the CLI's."""

    def __init__(self, reach: Reach, hits_dir: Path) -> None:
        self.reach, self.hits_dir = reach, hits_dir

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


def in_child(work: Any, log: Path | None = None) -> int:
    """Runs `work()` in a fork, its output to `log` (or nowhere); returns the pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        out = os.open(log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(out, 2)
        code = int(work())
    finally:
        os._exit(code)


def exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def collect_reach(port: int) -> Reach:
    """The clean run (step 1) in a child; raises if a test fails without a mutant."""
    import pytest
    from mutmut.mutation.trampoline import set_mutant_under_test

    reach = Reach()
    with tempfile.TemporaryDirectory(prefix="mutation-hits-") as hits, \
            tempfile.NamedTemporaryFile(suffix=".json") as out:
        def run() -> int:
            set_mutant_under_test("stats")
            os.environ.update(ACCESS_BROKER_TEST_WORLD_PORT=str(port), MUTATION_HITS_DIR=hits)
            code = int(pytest.main([*PYTEST_ARGS, *WORLD_TESTS], plugins=[Recorder(reach, Path(hits))]))
            Path(out.name).write_text(json.dumps(reach.to_json()))
            return code

        log = MUTANTS / "world-clean-run.log"
        code = exit_code(in_child(run, log))
        if code != 0:
            raise SystemExit(f"the world's tests failed without a mutant (exit {code}): see {log}")
        return Reach.from_json(json.loads(Path(out.name).read_text()))


def judge(mutant: str, tests: list[str], port: int) -> int:
    """One mutant's run (step 2): the fork's pid."""
    import pytest
    from mutmut.mutation.trampoline import set_mutant_under_test

    def run() -> int:
        set_mutant_under_test(as_run(mutant))
        os.environ["ACCESS_BROKER_TEST_WORLD_PORT"] = str(port)
        os.environ.pop("MUTATION_HITS_DIR", None)
        return int(pytest.main([*PYTEST_ARGS, "-x", *tests]))

    return in_child(run)


def status_of(code: int) -> str:
    return {0: "survived", 1: "killed", 3: "killed", 5: "no tests"}.get(code, "timeout" if code < 0 else "suspicious")


def judged(candidates: list[str], reach: Reach, ports: list[int]) -> Iterator[tuple[str, str]]:
    """Runs the candidates two at a time, each worker on its own lent world; yields (mutant, status)."""
    queue = [(m, reach.tests_for(m)) for m in candidates]
    for mutant, tests in [q for q in queue if not q[1]]:
        yield mutant, "no tests"
    # Area by area (a run stopped early leaves whole areas judged), the cheapest first within each.
    queue = sorted([q for q in queue if q[1]],
                   key=lambda q: (ORDER.index(area(q[0])), sum(reach.seconds[t] for t in q[1])))
    free, running = list(ports), {}  # pid -> (mutant, port, deadline)
    try:
        while queue or running:
            while queue and free:
                mutant, tests = queue.pop(0)
                port = free.pop()
                deadline = time.monotonic() + 20 + 3 * sum(reach.seconds[t] for t in tests)
                running[judge(mutant, tests, port)] = (mutant, port, deadline)
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                for late, (_, _, deadline) in list(running.items()):
                    if time.monotonic() > deadline:
                        os.kill(late, signal.SIGKILL)  # the tests hung: a timeout, counted as caught (as mutmut)
                time.sleep(0.05)
                continue
            mutant, port, _ = running.pop(pid)
            free.append(port)
            yield mutant, status_of(os.waitstatus_to_exitcode(status))
    finally:  # stopped early (Ctrl-C): no fork goes on judging
        for pid in running:
            os.kill(pid, signal.SIGKILL)


def verdicts(stamp: str | None = None) -> dict[str, str]:
    """The world's verdicts kept from an earlier run over the same mutants/ (none once a file there changed)."""
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    return dict(saved.get("verdicts", {})) if saved.get("digest") == (stamp or digest()) else {}


def main(patterns: list[str]) -> int:
    statuses = mutmut_statuses()
    stamp = digest()
    results = {name: status for name, status in verdicts(stamp).items() if statuses.get(name) in NOT_CAUGHT}
    # A run goes on where the last one stopped; mutants named (MUTANTS=...) are judged again.
    candidates = sorted(name for name, status in statuses.items()
                        if status in NOT_CAUGHT and area(name) != "core"
                        and (any(fnmatch.fnmatchcase(name, p) for p in patterns) if patterns else name not in results))

    def save() -> None:
        RESULTS.write_text(json.dumps({"digest": stamp, "verdicts": results}, indent=1, sort_keys=True))

    if not candidates:
        save()
        print("world's tiers: every mutant outside the core the unit tier left standing is judged")
        return 0

    # As mutmut runs its tests: mutants/ first on the path, and from inside it.
    sys.path[:] = [str(MUTANTS), str(MUTANTS / "cli")] + [p for p in sys.path if Path(p or ".").resolve() != ROOT]
    for name in [m for m in sys.modules if m == "tools" or m.startswith("tools.")]:
        del sys.modules[name]  # imported from the checkout to start this: tools.local_sigv4 must be mutmut's copy
    os.chdir(MUTANTS)
    from tools.world import Emulator

    emulators = [Emulator.start() for _ in range(WORKERS)]
    try:
        saved = json.loads(STATS.read_text()) if STATS.exists() else {}
        if saved.get("digest") == stamp:
            reach = Reach.from_json(saved["reach"])
        else:
            began = time.monotonic()
            print(f"world's tiers: the clean run records which tests reach what ({' '.join(WORLD_TESTS)})",
                  flush=True)
            reach = collect_reach(emulators[0].port)
            STATS.write_text(json.dumps({"digest": stamp, "reach": reach.to_json()}))
            print(f"  done in {time.monotonic() - began:.0f} s", flush=True)

        import pytest  # the forks inherit every test module imported once here

        with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
            pytest.main([*PYTEST_ARGS, "--collect-only", "-qq", *WORLD_TESTS], plugins=[])
        began, counts = time.monotonic(), defaultdict(int)
        print(f"world's tiers: {len(candidates)} mutants outside the core the unit tier left standing", flush=True)
        for done, (mutant, status) in enumerate(judged(candidates, reach, [e.port for e in emulators]), 1):
            results[mutant] = status
            counts[status] += 1
            if done % 25 == 0 or done == len(candidates):
                save()
                print(f"  {done}/{len(candidates)} " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
                      flush=True)
        print(f"  done in {time.monotonic() - began:.0f} s", flush=True)
    finally:
        for emulator in emulators:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
