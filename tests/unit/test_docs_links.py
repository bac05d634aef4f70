"""Every relative link in README.md and docs/ leads somewhere: the file exists, and an anchor names one of its
headings (as GitHub makes them). A page moved or a heading renamed fails here, not in a newcomer's browser."""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors: headings lower-cased, punctuation but hyphens and underscores dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", FENCE.sub("", page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        found.add(slug)
    return found


def links(page: Path) -> list[str]:
    return [t for t in LINK.findall(FENCE.sub("", page.read_text())) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert broken == [], f"{page.relative_to(ROOT)} links nowhere: {broken}"


def test_the_pages_have_links_to_check() -> None:
    assert sum(len(links(p)) for p in PAGES) > 20


def cli_commands() -> dict[str, argparse.ArgumentParser]:
    from access_broker_cli.main import build_parser

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subparsers.choices)


def documented_commands() -> dict[str, list[str]]:
    """docs/cli.md's table of commands: each command with the backticked fragments of its rows (an indented row,
    like `  --wait`, belongs to the command above it; what the row says it does adds the options it quotes)."""
    text = (ROOT / "docs" / "cli.md").read_text()
    table = text.split("| command | does |", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, list[str]] = {}
    command = ""
    for row in table.splitlines()[2:]:
        cells = row.strip("|").split("|")
        for fragment in re.findall(r"`([^`]+)`", cells[0]):
            if not fragment.lstrip().startswith("-"):  # `approve ID` · `deny ID`: two commands in one row
                command = fragment.split()[0]
            rows.setdefault(command, []).append(fragment.strip())
        rows[command] += [f.strip() for f in re.findall(r"`([^`]+)`", "|".join(cells[1:]))]
    return rows


def test_docs_cli_lists_every_command_with_the_options_and_defaults_it_has() -> None:
    """docs/cli.md quotes the commands and options users type: each must be what `access-broker --help` says."""
    parsers, documented = cli_commands(), documented_commands()
    assert sorted(documented) == sorted(parsers), "docs/cli.md's table of commands differs from the CLI's commands"
    for command, fragments in documented.items():
        options = {o: a for a in parsers[command]._actions for o in a.option_strings}
        quoted = set()
        for fragment in fragments:
            for option, value in re.findall(r"(--[a-z][a-z-]*)(?:[ =]([^\s\[\]-][^\s\]]*))?", fragment):
                if option in ("--url", "--json") or fragment.startswith(("aws ", "trusted_tools")):
                    continue
                assert option in options, f"docs/cli.md quotes `{option}` for `{command}`, which has no such option"
                quoted.add(option)
                if value and not value.isupper():  # `--timeout 15m`: the default the docs promise
                    assert options[option].default == value, f"docs/cli.md: {command} {option} {value}"
        unquoted = set(options) - quoted - {"-h", "--help", "--url", "--json"}
        assert not unquoted, f"docs/cli.md's table does not mention {sorted(unquoted)} of `{command}`"
        usage = parsers[command].format_usage()
        for metavar in re.findall(r"\b[A-Z]{2,}\b", fragments[0]):
            assert metavar in usage, f"docs/cli.md says `{fragments[0]}`; access-broker {command} takes {usage}"
