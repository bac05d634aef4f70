"""Durations as people type them (`90m`, `2h`, `1h30m`, ISO 8601 `PT2H`) and as we print them."""
from __future__ import annotations

import re

from chalicelib.domain.errors import Unprocessable, quote

# ASCII digits only (`\d` would take `٢` or `２` too), and few: int() refuses thousands of digits.
_N = "[0-9]{1,9}"
_SHORT = re.compile(rf"^(?:(?P<d>{_N})d)?(?:(?P<h>{_N})h)?(?:(?P<m>{_N})m)?(?:(?P<s>{_N})s)?$")
_ISO = re.compile(rf"^P(?:(?P<d>{_N})D)?(?:T(?:(?P<h>{_N})H)?(?:(?P<m>{_N})M)?(?:(?P<s>{_N})S)?)?$")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_SECONDS = 366 * 86400  # longer than any profile may allow; keeps every later date computation in range
HELP = "use minutes or hours like `90m`, `2h`, `1h30m`, or ISO 8601 like `PT2H`"


def parse_duration(text: object) -> int:
    """Seconds in `text`; raises Unprocessable naming the accepted forms."""
    if not isinstance(text, str) or not text.strip():
        raise Unprocessable(f"duration must be a non-empty string: {HELP}", field="duration")
    cleaned = text.strip()
    match = _ISO.match(cleaned.upper()) if cleaned.upper().startswith("P") else _SHORT.match(cleaned.lower())
    if not match or not any(match.groupdict().values()):
        raise Unprocessable(f"duration {quote(cleaned)} is not understood: {HELP}", field="duration")
    seconds = sum(int(v) * _UNITS[k] for k, v in match.groupdict().items() if v)
    if seconds <= 0:
        raise Unprocessable(f"duration {quote(cleaned)} must be longer than zero", field="duration")
    if seconds > MAX_SECONDS:
        raise Unprocessable(f"duration {quote(cleaned)} is longer than a year: {HELP}", field="duration")
    return seconds


def format_duration(seconds: int) -> str:
    """`2h`, `90m` -> `1h30m`, `45s`: the short form people type."""
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
