"""`aws-profile`: writes or updates one named profile in the AWS config file and leaves every other line as it was
(comments, order, other profiles): configparser would drop comments, so the file is edited section-wise, by line."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

MARKER = "# access-broker:"  # first line of a profile this CLI wrote; rewritten on each update
_HEADER = re.compile(r"^\s*\[([^\]]*)\]\s*(?:[#;].*)?$")
_KEY = re.compile(r"^([^\s=#;\[][^=]*?)\s*=")
_NAME = re.compile(r"[A-Za-z0-9_.+@=,:-]+")
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a newline (or any control) in a value would start a line


def config_path() -> Path:
    return Path(os.path.expanduser(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"))


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"profile name {name!r} may hold letters, digits and _.+@=,:- only")
    return name


def upsert(text: str, name: str, values: Dict[str, str], drop: Tuple[str, ...] = (),
           marker: Optional[str] = None) -> str:
    """`text` with profile `name` holding `values`: keys already there are set in place, missing ones are added at
    the end of its keys, keys in `drop` are removed; every other line stays as it was. A new profile goes last.
    ValueError when a value or the marker holds a control character: each must stay on its own line."""
    check_name(name)
    for key, value in [*values.items(), ("marker", marker or "")]:
        if _LINE_BREAKING.search(key + value):
            raise ValueError(f"{key} {value!r} holds control characters; it would not stay on its own line")
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    start = next((i for i, line in enumerate(lines) if _is_header_of(line, name)), None)
    marker_line = f"{MARKER} {marker}{newline}" if marker else None
    if start is None:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        if lines and lines[-1].strip():
            lines.append(newline)
        section = [f"[{_section(name)}]{newline}"] + ([marker_line] if marker_line else [])
        return "".join(lines + section + [f"{key} = {value}{newline}" for key, value in values.items()])
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
    body = _updated(lines[start + 1:end], values, drop, newline)
    if marker_line:
        body = [line for line in body if not line.startswith(MARKER)]
        body.insert(0, marker_line)
    return "".join(lines[:start + 1] + body + lines[end:])


def write(path: Path, text: str) -> None:
    """Replaces the file at once (a crash leaves the old file, never half of one), keeping its permissions. A config
    that is a symlink (into a dotfiles repository, say) stays one: the file it points to is replaced."""
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, temp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as out:
            out.write(text)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def _updated(body: List[str], values: Dict[str, str], drop: Tuple[str, ...], newline: str) -> List[str]:
    kept: List[str] = []
    written = set()
    skipping = False  # the indented continuation lines of a key being replaced or dropped
    last_key = -1
    for line in body:
        if skipping and line[:1] in (" ", "\t") and line.strip():
            continue
        skipping = False
        key = _KEY.match(line)
        name = key.group(1).strip() if key else None
        if name in drop or name in written:
            skipping = True
            continue
        if name in values:
            kept.append(f"{name} = {values[name]}{newline}")
            written.add(name)
            skipping = True
        else:
            kept.append(line)
        if key or (line[:1] in (" ", "\t") and line.strip() and not line.lstrip().startswith(("#", ";"))):
            last_key = len(kept) - 1  # new keys go after the last key and its continuation lines
    missing = [f"{k} = {v}{newline}" for k, v in values.items() if k not in written]
    at = last_key + 1 if last_key >= 0 else _first_trailing_blank(kept)
    if at > 0 and not kept[at - 1].endswith(("\n", "\r")):
        kept[at - 1] += newline
    return kept[:at] + missing + kept[at:]


def _first_trailing_blank(lines: List[str]) -> int:
    at = len(lines)
    while at > 0 and not lines[at - 1].strip():
        at -= 1
    return at


def _section(name: str) -> str:
    return "default" if name == "default" else f"profile {name}"


def _is_header_of(line: str, name: str) -> bool:
    matched = _HEADER.match(line)
    if not matched:
        return False
    words = matched.group(1).split()
    return words == ["profile", name] or (name == "default" and words == ["default"])
