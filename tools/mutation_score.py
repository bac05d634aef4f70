"""What `make mutate` prints last: of the mutants mutmut ran, how many the tests caught (mutants/, from
`mutmut export-cicd-stats`). Mutants not run in a narrowed run (MUTANTS=...) are not counted."""
from __future__ import annotations

import json
import sys
from pathlib import Path

STATS = Path("mutants/mutmut-cicd-stats.json")


def summary(stats: dict[str, int]) -> str:
    caught = stats["killed"] + stats["timeout"]  # a mutant that hangs the tests is noticed too
    judged = caught + stats["survived"] + stats["no_tests"] + stats["suspicious"] + stats["segfault"]
    share = f"{100 * caught / judged:.1f}%" if judged else "nothing run"
    return (f"make mutate: {caught} of {judged} mutants run were caught ({share}); {stats['survived']} survived, "
            f"{stats['no_tests']} reached by no test, {stats['suspicious']} suspicious. List them: .venv/bin/mutmut "
            f"results; see one: .venv/bin/mutmut show NAME (docs/testing.md)")


def main() -> int:
    if not STATS.exists():
        print(f"{STATS} is missing: run `make mutate` (it writes it with mutmut export-cicd-stats)", file=sys.stderr)
        return 1
    print(summary(json.loads(STATS.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
