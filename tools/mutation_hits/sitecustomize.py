"""Loaded first by a test's child process (the CLI) during make mutate's clean run of the world's tests
(tools/mutation_tests.py puts this directory on its PYTHONPATH): which mutated functions the process reached, written
at exit to MUTATION_HITS_DIR, where the test that started it collects them. Nothing else changes."""
import atexit
import json
import os

_HITS_DIR = os.environ.get("MUTATION_HITS_DIR")

if _HITS_DIR and os.environ.get("MUTANT_UNDER_TEST") == "stats":
    from mutmut.mutation import trampoline

    _reached: set[str] = set()

    def _record(name: str, caller: str | None = None) -> None:
        _reached.add(name)

    def _report() -> None:
        if _reached:
            with open(os.path.join(_HITS_DIR, f"{os.getpid()}.json"), "w") as out:
                json.dump(sorted(_reached), out)

    trampoline.record_trampoline_hit = _record  # type: ignore[assignment]
    atexit.register(_report)
