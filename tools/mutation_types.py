"""make mutate's first judge: mypy strict over every mutant, as `make lint` runs it (a mutant it rejects could not
land), recorded where mutmut keeps its verdicts; tools/mutation_tests.py then runs the tests for the rest.

mutmut can run the type checker itself (`type_check_command`), but maps each error to its mutant by re-rendering
every mutated file through libcst: over the whole product (~17,000 mutants) that took 6.5 of its minutes. Here the
map is Python's own parser (each mutant is one function, `x_name__mutmut_N`, with its line span), in seconds.
Generation is mutmut's own (pinned in requirements-dev.txt: the functions below are its internals); `mutmut
results` and `mutmut show` read what is written here."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from bisect import bisect_right
from collections import defaultdict
from pathlib import Path

MUTANT = re.compile(r"__mutmut_(\d+|orig)$")
MYPY = ["mypy", "chalicelib", "cli/access_broker_cli", "tools/local_sigv4.py", "--output", "json",
        "--no-warn-unused-ignores"]
REJECTED = 37  # mutmut's exit code for "caught by type check"


def generate() -> None:
    """mutmut's own step one of `mutmut run`: copy the tree into mutants/ and write every mutant."""
    from mutmut.__main__ import create_mutants, store_lines_covered_by_tests
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths

    set_mutant_under_test("mutant_generation")
    Path("mutants").mkdir(exist_ok=True)
    sys.stdout.flush()
    shown = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # mutmut names every file it copies, in its pool's processes too
    try:
        copy_src_dir()
        copy_also_copy_files()
        setup_source_paths()
        store_lines_covered_by_tests()
        create_mutants(2)
    finally:
        sys.stdout.flush()
        os.dup2(shown, 1)


def mutant_spans(source: str) -> tuple[list[int], list[tuple[int, str]]]:
    """The mutants a mutated file defines (module functions and class methods) and the original's copy beside them:
    sorted first lines, and for each its (last line, name)."""
    spans = []
    tree = ast.parse(source)
    for node in tree.body:
        defs = node.body if isinstance(node, ast.ClassDef) else [node]
        for d in defs:
            if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)) and MUTANT.search(d.name):
                spans.append((d.lineno, d.end_lineno or d.lineno, d.name))
    spans.sort()
    return [s[0] for s in spans], [(s[1], s[2]) for s in spans]


def mutant_at(starts: list[int], ends: list[tuple[int, str]], line: int) -> str | None:
    i = bisect_right(starts, line) - 1
    return ends[i][1] if i >= 0 and line <= ends[i][0] else None


def module_of(path: str) -> str:
    """mutmut's module name for a file (its get_mutant_name): the path with dots, as mutmut names mutants."""
    return path.removesuffix(".py").replace("/", ".")


def rejected(report: str, read: dict[str, str]) -> dict[str, dict[str, str]]:
    """mypy's JSON lines -> {source path: {mutant: first error}}; an error outside every mutant is the code's own
    (or a mutation leaking into another function) and stops the run."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    spans: dict[str, tuple[list[int], list[tuple[int, str]]]] = {}
    for line in report.splitlines():
        if not line.strip():
            continue
        error = json.loads(line)
        if error["severity"] != "error":
            continue
        path = error["file"]
        if path not in spans:
            spans[path] = mutant_spans(read[path])
        name = mutant_at(*spans[path], error["line"])
        if name is None:
            raise SystemExit(f"mypy: {path}:{error['line']}: {error['message']} is in no mutant: does "
                             "`make lint` pass? (a protocol's default mutated would do this: setup.cfg, do_not_mutate)")
        if not name.endswith("__mutmut_orig"):  # the original's copy: mutmut's duplicate of an annotated attribute
            found[path].setdefault(f"{module_of(path)}.{name}", error["message"])
    return found


def record(found: dict[str, dict[str, str]]) -> None:
    from mutmut.mutation.data import SourceFileMutationData

    for path, by_mutant in found.items():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, message in by_mutant.items():
            if name not in data.exit_code_by_key:
                raise SystemExit(f"mypy rejected {name}, which mutmut does not know: regenerate (rm -rf mutants)")
            data.exit_code_by_key[name] = REJECTED
            data.type_check_error_by_key[name] = message
        data.save()


def main() -> int:
    began = time.monotonic()
    generate()
    generated = time.monotonic()
    mypy = str(Path(sys.executable).with_name("mypy"))
    done = subprocess.run([mypy, *MYPY[1:]], cwd="mutants", capture_output=True, text=True)
    if done.returncode not in (0, 1) or (done.returncode == 1 and not done.stdout.strip()):
        raise SystemExit(f"mypy failed to run:\n{done.stderr[-2000:]}")
    read = {}
    for line in done.stdout.splitlines():
        if line.strip():
            path = json.loads(line)["file"]
            if path not in read:
                read[path] = (Path("mutants") / path).read_text()
    found = rejected(done.stdout, read)
    record(found)
    print(f"mutants generated in {generated - began:.0f} s; mypy strict rejected "
          f"{sum(len(v) for v in found.values())} of them in {time.monotonic() - generated:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
