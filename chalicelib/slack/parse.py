"""Slack's request bodies into small typed objects: slash-command forms and interaction `payload=` JSON.

Never crashes on odd input: anything Slack would not send is `Malformed` (a 400). Only the shape is
checked here; whether a profile, a duration or a request exists is the service's business."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from chalicelib.domain.errors import InvalidInput, quote
from chalicelib.domain.ids import is_request_id
from chalicelib.domain.rounds import REQUEST, is_round
from chalicelib.slack.texts import COMMAND

_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SSL_CHECK_FIELDS = {"token", "ssl_check"}
_LOOKS_LIKE_DURATION = re.compile(r"^(\d|p\d|pt\d)", re.IGNORECASE)  # `2h`, `90m`, `PT2H`, `P1D`
_AMOUNT = re.compile(r"^[0-9]+([.,][0-9]+)?$")  # a number alone: `2`, `1.5`
_UNIT_WORDS = {**dict.fromkeys(("d", "day", "days"), "d"), **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
               **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
               **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s")}
_UNIT_ORDER = "dhms"  # the order the service's `1d2h30m` takes them in
_SPOKEN_PART = re.compile(rf"^[0-9]{{1,9}}(?:{'|'.join(sorted(_UNIT_WORDS, key=len, reverse=True))})$")
ACTIONS = ("approve", "deny", "revoke", "extend")  # button action_ids; the value is the request id (and round)
VIEWS = ("request_access", "deny", "extend")  # modal callback_ids


class Malformed(InvalidInput):
    """A verified body that is not shaped like anything Slack sends."""


@dataclass(frozen=True)
class Origin:
    """The Slack workspace (team) and app a request says it comes from ("" when it does not say)."""
    team_id: str = ""
    api_app_id: str = ""


@dataclass(frozen=True)
class SlashCommand:
    user_id: str
    text: str
    trigger_id: str
    response_url: str
    channel_id: str
    origin: Origin = Origin()


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ListMine:
    pass


@dataclass(frozen=True)
class OpenForm:
    pass


@dataclass(frozen=True)
class Revoke:
    request_id: str


@dataclass(frozen=True)
class Ask:
    profile: str
    duration: str | None
    reason: str


Subcommand = Help | ListMine | OpenForm | Revoke | Ask


@dataclass(frozen=True)
class Click:
    """A button in one of our messages: `action` is one of ACTIONS; `round` the approval round the message showed
    (domain/rounds.py), which Approve and Deny decide and nothing else."""
    user_id: str
    action: str
    request_id: str
    trigger_id: str
    response_url: str
    origin: Origin = Origin()
    round: str = REQUEST


@dataclass(frozen=True)
class Submission:
    """A modal submitted: `values` maps each input block_id to what was typed or chosen ("" if nothing)."""
    user_id: str
    callback_id: str
    values: dict[str, str]
    metadata: dict[str, str] = field(default_factory=dict)
    origin: Origin = Origin()


def is_ssl_check(body: bytes) -> bool:
    """Slack's certificate check of a command URL: an unsigned `token=...&ssl_check=1` and nothing else."""
    if len(body) > 1024:
        return False
    try:
        pairs = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=True, max_num_fields=2)
    except (UnicodeDecodeError, ValueError):
        return False
    return (set(pairs) <= _SSL_CHECK_FIELDS and pairs.get("ssl_check") == ["1"]
            and all(len(values) == 1 for values in pairs.values()))


def parse_command(body: bytes) -> SlashCommand:
    form = _form(body)
    return SlashCommand(user_id=_user(form.get("user_id")), text=form.get("text", "").strip(),
                        trigger_id=form.get("trigger_id", ""), response_url=form.get("response_url", ""),
                        channel_id=form.get("channel_id", ""),
                        origin=Origin(form.get("team_id", ""), form.get("api_app_id", "")))


def subcommand(text: str) -> Subcommand:
    """`/request-access <profile> [duration] [reason...]`, or alone, or `list`, `revoke <id>`, `help`."""
    words = text.split()
    if not words:
        return OpenForm()
    first = words[0].lower()
    if first in ("help", "-h", "--help", "?"):
        return Help()
    if first == "list" and len(words) == 1:
        return ListMine()
    if first == "revoke" and len(words) == 2:
        if not is_request_id(words[1].lower()):
            raise InvalidInput(f"{quote(words[1])} is not a request id; `{COMMAND} list` shows yours")
        return Revoke(words[1].lower())
    taken = _duration_words(words[1:])
    duration = _spoken_duration(" ".join(words[1:1 + taken])) if taken else None
    return Ask(profile=words[0], duration=duration, reason=" ".join(words[1 + taken:]))


def _duration_words(words: list[str]) -> int:
    """How many of `words` (what follows the profile) the person meant as the duration: `2h`, `PT2H`, `2 hours`,
    `1 hour 30 minutes`, `1h 30m`. A number alone is never a duration, so the word after it is taken as its unit:
    `2 hourz` comes back whole in the error ("duration '2 hourz' is not understood"), never as '2'."""
    if not words or not _LOOKS_LIKE_DURATION.match(words[0]):
        return 0
    taken = 2 if _AMOUNT.match(words[0]) and len(words) > 1 else 1
    while taken < len(words):  # further parts with their units: `30m`, `30 minutes`
        if _SPOKEN_PART.match(words[taken].lower()):
            taken += 1
        elif _AMOUNT.match(words[taken]) and _spoken_unit(words, taken + 1):
            taken += 2
        else:
            break
    return taken


def _spoken_unit(words: list[str], at: int) -> bool:
    return at < len(words) and words[at].lower() in _UNIT_WORDS


def _spoken_duration(typed: str) -> str:
    """`2 hours` -> `2h`, `1 hour 30 minutes` -> `1h30m`, for the service's parser; anything else as typed, so that
    its error quotes what the person wrote."""
    parts = re.findall(r"([0-9]{1,9})\s*([a-z]+)", typed.lower())
    units = [_UNIT_WORDS.get(unit) for _, unit in parts]
    whole = re.fullmatch(r"(?:[0-9]{1,9}\s*[a-z]+\s*)+", typed.lower())
    in_order = units == sorted(units, key=lambda unit: _UNIT_ORDER.index(unit or "")) if None not in units else False
    if not whole or not in_order or len(set(units)) != len(units):
        return typed
    return "".join(f"{amount}{unit}" for (amount, _), unit in zip(parts, units))


def parse_interaction(body: bytes) -> Click | Submission:
    raw = _form(body).get("payload")
    if raw is None:
        raise Malformed("an interaction body carries a `payload` form field")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise Malformed("the `payload` field is not valid JSON") from None
    payload = _obj(payload, "payload")
    person = _obj(payload.get("user"), "payload.user")
    user = _user(person.get("id"))
    team = payload.get("team")  # null for an org-wide install: then the user's team
    origin = Origin(_str(team.get("id") if isinstance(team, dict) else person.get("team_id")),
                    _str(payload.get("api_app_id")))
    kind = payload.get("type")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or len(actions) != 1:
            raise Malformed("payload.actions must hold exactly one action")
        action = _obj(actions[0], "payload.actions[0]")
        if action.get("action_id") not in ACTIONS:
            raise Malformed(f"unknown action_id {str(action.get('action_id'))[:40]!r}; known: {', '.join(ACTIONS)}")
        request_id, round_ = button_value(action.get("value"))
        return Click(user_id=user, action=action["action_id"], request_id=request_id,
                     trigger_id=_str(payload.get("trigger_id")), response_url=_str(payload.get("response_url")),
                     origin=origin, round=round_)
    if kind == "view_submission":
        view = _obj(payload.get("view"), "payload.view")
        if view.get("callback_id") not in VIEWS:
            raise Malformed(f"unknown callback_id {str(view.get('callback_id'))[:40]!r}; known: {', '.join(VIEWS)}")
        return Submission(user_id=user, callback_id=view["callback_id"], values=_values(view.get("state")),
                          metadata=_metadata(view.get("private_metadata")), origin=origin)
    raise Malformed(f"unsupported interaction type {str(kind)[:40]!r}; expected block_actions or view_submission")


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise Malformed("the body is not a UTF-8 form (application/x-www-form-urlencoded)") from None
    return {name: values[0] for name, values in pairs.items()}


def _values(state: Any) -> dict[str, str]:
    """`state.values` is {block_id: {action_id: element state}}; each of our inputs has one element."""
    blocks = _obj(_obj(state, "payload.view.state").get("values"), "payload.view.state.values")
    found = {}
    for block_id, elements in blocks.items():
        for element in _obj(elements, f"payload.view.state.values.{block_id}").values():
            element = _obj(element, f"payload.view.state.values.{block_id}")
            selected = element.get("selected_option")
            value = selected.get("value") if isinstance(selected, dict) else element.get("value")
            found[str(block_id)] = value if isinstance(value, str) else ""
    return found


def _metadata(raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise Malformed("payload.view.private_metadata is not the JSON object access-broker put there")
    return data


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{name} must be a JSON object")
    return value


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _user(value: Any) -> str:
    if not isinstance(value, str) or not _USER.match(value):
        raise Malformed("the Slack user id is missing or malformed")
    return value


def button_value(value: Any) -> tuple[str, str]:
    """A button's value: `<request id>` for the request's own round, `<request id>:<round>` for another (an
    extension's); the request id and the round."""
    request_id, colon, round_ = value.partition(":") if isinstance(value, str) else ("", "", "")
    if not is_request_id(request_id) or (colon and not is_round(round_)):
        raise Malformed("the button's value is not a request id (and approval round)")
    return request_id, round_ or REQUEST
