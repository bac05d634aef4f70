"""What `make mutate` prints last: of the mutants judged, how many were caught, over the whole product and per area.

Two judges, in order: mypy strict (a mutant it rejects could not pass `make lint`; tools/mutation_types.py records
it where `mutmut results --all true` reads it), then the tests (tools/mutation_tests.py, mutants/tests-results.json).
Mutants no judge has judged yet (a narrowed or stopped run) are not counted. Why each one not caught cannot change
what anyone observes is written down in REASONS (why -> mutmut's names; read again when a function changes, as its
mutants' numbers then change); `--not-caught-by-function` prints them beside each function's survivors."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from tools.mutation_tests import BY_TYPES, CAUGHT, Stamp, area, kept, mutmut_statuses

AREAS = ["core", "app", "store", "aws", "slack", "routes", "cli", "sigv4"]
REASONS = Path(__file__).resolve().parent.parent / "docs" / "mutation-reasons.json"
NOT_READ = "not read yet"


def judges(by_mutmut: dict[str, str], by_tests: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each judged mutant's final status and the judge that gave it: mypy, tests, or none (not caught)."""
    final: dict[str, tuple[str, str]] = {}
    for name, status in by_mutmut.items():
        if status == BY_TYPES:
            final[name] = (status, "mypy")
        elif name in by_tests:
            final[name] = (by_tests[name], "tests" if by_tests[name] in CAUGHT else "none")
    return final


def _share(caught: int, judged: int) -> str:
    return f"{caught}/{judged} ({100 * caught / judged:.1f}%)" if judged else "none judged"


def summary(final: dict[str, tuple[str, str]]) -> list[str]:
    if not final:
        return ["make mutate: nothing judged yet"]
    by_area: dict[str, Counter[str]] = defaultdict(Counter)
    for name, (_, judge) in final.items():
        by_area[area(name)][judge] += 1
    lines = []
    for name in [a for a in AREAS if a in by_area]:
        c = by_area[name]
        lines.append(f"  {name:<7} {_share(sum(c.values()) - c['none'], sum(c.values())):>22}: mypy {c['mypy']}, "
                     f"tests {c['tests']}, not caught {c['none']}")
    missed = Counter(status for status, judge in final.values() if judge == "none")
    total = Counter(judge for _, judge in final.values())
    caught = len(final) - total["none"]
    per_area = ", ".join(f"{a} {_share(sum(c.values()) - c['none'], sum(c.values()))}"
                         for a, c in ((a, by_area[a]) for a in AREAS if a in by_area))
    lines.append(f"make mutate: {caught} of {len(final)} mutants caught ({100 * caught / len(final):.1f}%): "
                 f"{total['mypy']} by mypy strict, {total['tests']} by the tests; {total['none']} not caught "
                 f"({', '.join(f'{n} {s}' for s, n in sorted(missed.items())) or 'none'}). "
                 f"By area: {per_area}. List them: python -m tools.mutation_score "
                 f"--not-caught; see one: .venv/bin/mutmut show NAME (docs/testing.md)")
    return lines


def reasons() -> dict[str, str]:
    """REASONS as {mutant: why}."""
    written: dict[str, list[str]] = json.loads(REASONS.read_text()) if REASONS.exists() else {}
    return {name: why for why, names in written.items() for name in names}


def by_function(final: dict[str, tuple[str, str]], reasons: dict[str, str] | None = None) -> list[str]:
    """The mutants no judge caught, one line per function, those with the same status and reason together:
    `module.x_function: 3, 7 survived (why); 9 no tests (why)`; without a reason in `reasons`, NOT_READ."""
    missed: dict[str, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    for name, (status, judge) in final.items():
        if judge == "none":
            function, _, number = name.rpartition("__mutmut_")
            missed[function][status, (reasons or {}).get(name, NOT_READ)].append(int(number))
    return [f"{function}: " + "; ".join(f"{', '.join(map(str, sorted(numbers)))} {status} ({why})"
                                        for (status, why), numbers in sorted(groups.items(),
                                                                             key=lambda g: min(g[1])))
            for function, groups in sorted(missed.items())]


def main(args: list[str]) -> int:
    try:
        by_mutmut = mutmut_statuses()
    except subprocess.CalledProcessError as failed:
        by_mutmut, why = {}, failed.stderr.strip()[-200:]
    else:
        why = "none listed"
    if not by_mutmut:
        print(f"no mutmut results here: run `make mutate` first ({why})", file=sys.stderr)
        return 1
    final = judges(by_mutmut, kept(Stamp.now()).verdicts)
    if args == ["--not-caught"]:
        for name, (status, judge) in sorted(final.items()):
            if judge == "none":
                print(f"{name}: {status}")
        return 0
    if args == ["--not-caught-by-function"]:
        print("\n".join(by_function(final, reasons())))
        return 0
    print("\n".join(summary(final)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
