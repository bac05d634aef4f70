"""What `make mutate` prints last: of the mutants judged, how many were caught, over the whole product and per area.

Three judges, in order: mypy strict (a mutant it rejects could not pass `make test`), the unit tier (mutmut's run,
`mutmut results --all true`), then, outside the core, the world's tiers (tools/mutation_world.py,
mutants/world-results.json), whose word replaces mutmut's for the mutants it judged. Mutants a narrowed run
(MUTANTS=...) did not judge are not counted."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from tools.mutation_world import area, statuses, verdicts

MUTMUT = Path(sys.executable).with_name("mutmut")
BY_TYPES, BY_TESTS = {"caught by type check"}, {"killed", "timeout"}  # a mutant that hangs the tests is noticed too
NOT_JUDGED = {"not checked", "skipped", "check was interrupted by user"}
AREAS = ["core", "app", "store", "aws", "slack", "routes", "cli", "sigv4"]


def judges(by_mutmut: dict[str, str], by_world: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each judged mutant's final status and the judge that gave it: mypy, unit, world (or none: not caught)."""
    final: dict[str, tuple[str, str]] = {}
    for name, status in by_mutmut.items():
        if status in NOT_JUDGED:
            continue
        if status in BY_TYPES:
            final[name] = (status, "mypy")
        elif status in BY_TESTS:
            final[name] = (status, "unit")
        elif name in by_world:
            final[name] = (by_world[name], "world" if by_world[name] in BY_TESTS else "none")
        else:
            final[name] = (status, "none")
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
                     f"unit tier {c['unit']}, world's tiers {c['world']}, not caught {c['none']}")
    missed = Counter(status for status, judge in final.values() if judge == "none")
    total = Counter(judge for _, judge in final.values())
    caught = len(final) - total["none"]
    per_area = ", ".join(f"{a} {_share(sum(c.values()) - c['none'], sum(c.values()))}"
                         for a, c in ((a, by_area[a]) for a in AREAS if a in by_area))
    lines.append(f"make mutate: {caught} of {len(final)} mutants caught ({100 * caught / len(final):.1f}%): "
                 f"{total['mypy']} by mypy strict, {total['unit']} by the unit tier, {total['world']} by the world's "
                 f"tiers; {total['none']} not caught ({', '.join(f'{n} {s}' for s, n in sorted(missed.items()))}"
                 f"{'' if missed else 'none'}). By area: {per_area}. List them: python -m tools.mutation_score "
                 f"--not-caught; see one: .venv/bin/mutmut show NAME (docs/testing.md)")
    return lines


def main(args: list[str]) -> int:
    found = subprocess.run([str(MUTMUT), "results", "--all", "true"], capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout.strip():
        print(f"no mutmut results here: run `make mutate` first ({found.stderr.strip()[-200:]})", file=sys.stderr)
        return 1
    final = judges(statuses(found.stdout), verdicts())
    if args == ["--not-caught"]:
        for name, (status, judge) in sorted(final.items()):
            if judge == "none":
                print(f"{name}: {status}")
        return 0
    print("\n".join(summary(final)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
