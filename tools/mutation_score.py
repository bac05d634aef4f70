"""What `make mutate` prints last: of the mutants mutmut judged, how many were caught, by mypy strict (a mutant it
rejects could not pass `make test`) and by the unit tier; reads `mutmut results --all true` (one `name: status` line
per mutant). Mutants a narrowed run (MUTANTS=...) did not judge are not counted."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

MUTMUT = Path(sys.executable).with_name("mutmut")
BY_TYPES, BY_TESTS = {"caught by type check"}, {"killed", "timeout"}  # a mutant that hangs the tests is noticed too
NOT_JUDGED = {"not checked", "skipped", "check was interrupted by user"}


def statuses(lines: str) -> Counter[str]:
    return Counter(line.rpartition(": ")[2].strip() for line in lines.splitlines() if ": " in line)


def summary(counts: Counter[str]) -> str:
    judged = sum(n for status, n in counts.items() if status not in NOT_JUDGED)
    if not judged:
        return "make mutate: nothing judged yet"
    by_types = sum(counts[s] for s in BY_TYPES)
    by_tests = sum(counts[s] for s in BY_TESTS)
    caught = by_types + by_tests
    ran = judged - by_types
    tests_share = f"{100 * by_tests / ran:.1f}%" if ran else "none ran"
    missed = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in BY_TYPES | BY_TESTS | NOT_JUDGED)
    return (f"make mutate: {caught} of {judged} mutants caught ({100 * caught / judged:.1f}%): "
            f"{by_types} by mypy strict, {by_tests} of the {ran} left by the unit tier ({tests_share}); "
            f"{judged - caught} not caught ({missed or 'none'}). List them: .venv/bin/mutmut results; "
            f"see one: .venv/bin/mutmut show NAME (docs/testing.md)")


def main() -> int:
    found = subprocess.run([str(MUTMUT), "results", "--all", "true"], capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout.strip():
        print(f"no mutmut results here: run `make mutate` first ({found.stderr.strip()[-200:]})", file=sys.stderr)
        return 1
    print(summary(statuses(found.stdout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
