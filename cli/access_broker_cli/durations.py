"""Durations on the command line (`--timeout 15m`) and in what the CLI prints, and the API's RFC 3339 times."""
from __future__ import annotations

import re
from datetime import datetime, timezone

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_SHORT = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_seconds(text: str) -> int:
    """`900`, `90s`, `15m`, `1h30m` or ISO 8601 `PT15M`: seconds. ValueError names the accepted forms."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    matched = _SHORT.match(value.lower()) or _ISO.match(value.upper())
    if not value or not matched or not any(matched.groups()):
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 15m, 1h30m, PT15M or a number of seconds")
    return sum(int(n or 0) * unit for n, unit in zip(matched.groups(), _UNITS.values()))


def human(seconds: float) -> str:
    """3600 -> 1h, 5400 -> 1h30m, 42 -> 42s."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def clock(seconds: float) -> str:
    """Elapsed time as m:ss or h:mm:ss."""
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def seconds_until(text: str, now: datetime | None = None) -> float:
    return (parse_time(text) - (now or datetime.now(timezone.utc))).total_seconds()
