"""Server text made safe for a terminal: the API's words (reasons, comments, names, errors) are shown, never obeyed.
Every C0 and C1 control character (ESC, CSI, OSC, BEL, carriage return...) is printed as a visible escape like
`\\x1b`, so an `ESC[2K` or an OSC 52 in a reason cannot erase a line or write to the clipboard."""
from __future__ import annotations

import re

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: Unicode's category Cc
_CONTROLS_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """`text` with every control character escaped, newlines too: for a field that is one line (a name, a state,
    a comment in a status line), where a newline would make the server's text look like a line of the CLI's own."""
    return _CONTROLS.sub(_escaped, text)


def lines(text: str) -> str:
    """`text` with every control character escaped but newlines: for what is printed as several lines."""
    return _CONTROLS_BUT_NEWLINE.sub(_escaped, text)


def _escaped(matched: re.Match[str]) -> str:
    char = matched.group(0)
    return _NAMED.get(char) or f"\\x{ord(char):02x}"
