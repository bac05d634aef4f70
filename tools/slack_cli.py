"""Slack without a workspace: sends correctly signed slash commands, button clicks and modal submissions
to the local server as a chosen person, and prints what the broker posted (via the local Slack stub).

    make slack ARGS="/request-access s3-prod 1h test"          # as s3-access
    make slack ARGS="--as bob click approve <id>"              # approve, deny, revoke, extend
    make slack ARGS="--as bob submit deny <id> not today"      # the Deny modal, with a reason
    make slack ARGS="submit request s3-prod 1h fixing things"  # the /request-access form
    make slack ARGS="submit extend <id> 30m"

The payload builders here are also what the tests send: one description of what Slack sends."""
from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".local" / "env"  # what `make run` wrote
TEAM = {"id": "T01LOCAL", "domain": "access-broker-local"}
COMMAND = "/request-access"


# -- what Slack sends (shapes from Slack's documentation)


def signed_headers(secret: str, body: bytes, timestamp: int, retry: int | None = None) -> dict[str, str]:
    from chalicelib.slack.verify import signature

    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": signature(secret, str(timestamp), body)}
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    return headers


def command_body(user_id: str, text: str, response_url: str, trigger_id: str | None = None,
                 channel_id: str = "C01GENERAL") -> bytes:
    return urlencode({
        "token": "deprecated-verification-token", "team_id": TEAM["id"], "team_domain": TEAM["domain"],
        "channel_id": channel_id, "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(),
        "command": COMMAND, "text": text, "api_app_id": "A01BROKER", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": trigger_id or _trigger_id()}).encode()


def click_payload(user_id: str, action: str, request_id: str, response_url: str, channel_id: str = "C01APPROVALS",
                  message_ts: str = "1700000001.000100") -> dict[str, Any]:
    label = {"approve": "Approve", "deny": "Deny", "revoke": "Revoke now (I'm done)", "extend": "Extend"}.get(action,
                                                                                                             action)
    return {
        "type": "block_actions", "user": _user(user_id), "api_app_id": "A01BROKER", "token": "deprecated",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": _trigger_id(), "team": TEAM, "enterprise": None, "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "approvals"}, "message": {"type": "message", "ts": message_ts},
        "state": {"values": {}}, "response_url": response_url,
        "actions": [{"action_id": action, "block_id": "decide", "value": request_id, "type": "button",
                     "text": {"type": "plain_text", "text": label, "emoji": True},
                     "action_ts": f"{time.time():.6f}"}]}


def submission_payload(user_id: str, callback_id: str, values: dict[str, str],
                       metadata: dict[str, str] | None = None) -> dict[str, Any]:
    state = {block: {"value": ({"type": "static_select", "selected_option": {
        "text": {"type": "plain_text", "text": value}, "value": value}} if block == "profile" else
        {"type": "plain_text_input", "value": value or None})} for block, value in values.items()}
    return {
        "type": "view_submission", "team": TEAM, "user": _user(user_id), "api_app_id": "A01BROKER",
        "token": "deprecated", "trigger_id": _trigger_id(), "is_enterprise_install": False, "response_urls": [],
        "view": {"id": "V" + secrets.token_hex(5).upper(), "team_id": TEAM["id"], "type": "modal",
                 "callback_id": callback_id, "private_metadata": json.dumps(metadata or {}),
                 "state": {"values": state}, "hash": secrets.token_hex(8), "blocks": [],
                 "title": {"type": "plain_text", "text": callback_id}}}


def interaction_body(payload: dict[str, Any] | str) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM["id"]}


def _trigger_id() -> str:
    return f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


# -- the command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make slack ARGS=...", description=__doc__.split("\n\n")[0])
    parser.add_argument("--as", dest="person", default="s3-access", help="person id from the catalog, or a Slack id")
    parser.add_argument("words", nargs="+", help="/request-access ..., click <action> <id>, submit <form> ...")
    args = parser.parse_args(argv)
    env = _local_env()
    url, secret, stub = env.get("ACCESS_BROKER_URL"), env.get("SLACK_SIGNING_SECRET"), env.get("SLACK_STUB_URL")
    if not url or not secret:
        print("no ACCESS_BROKER_URL / SLACK_SIGNING_SECRET in .local/env: start `make run` first", file=sys.stderr)
        return 2
    names = _slack_names(env)
    user = args.person if args.person[:1] in "UW" and args.person.isupper() else next(
        (u for u, n in names.items() if n == args.person), None)
    if user is None:
        print(f"{args.person!r} has no slack_user_id in the catalog; known: {', '.join(names.values())}",
              file=sys.stderr)
        return 2
    response_url = f"{stub}/response/{names.get(user, user)}" if stub else "https://hooks.slack.com/commands/local"
    try:
        path, body = _request(args.words, user, response_url)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        seen = _stub_count(stub)
        status, answer = _send(f"{url}{path}", body, secret)
        print(f"--- answer {status}")
        if answer.strip():
            print(_readable_answer(answer, names))
        if stub:
            _print_new_calls(stub, seen, names)
    except OSError as exc:  # URLError: refused, timed out... (HTTPError, an answer, is handled in _send)
        reason = getattr(exc, "reason", exc)
        print(f"make slack: nothing answers at {url} or its Slack stub ({reason}): is `make run` still running? "
              "Start it, then try again", file=sys.stderr)
        return 1
    return 0 if status < 400 else 1


def _request(words: list[str], user: str, response_url: str) -> tuple[str, bytes]:
    first = words[0]
    if first == COMMAND or first.startswith("/"):
        return "/slack/commands", command_body(user, " ".join(words[1:]), response_url)
    if first == "click" and len(words) == 3:
        return "/slack/interactions", interaction_body(click_payload(user, words[1], words[2], response_url))
    if first == "submit" and len(words) >= 3:
        form, rest = words[1], words[2:]
        if form == "request" and len(rest) >= 3:
            values = {"profile": rest[0], "duration": rest[1], "reason": " ".join(rest[2:])}
            return "/slack/interactions", interaction_body(submission_payload(
                user, "request_access", values, {"response_url": response_url}))
        if form in ("deny", "extend"):
            values = {"reason": " ".join(rest[1:])} if form == "deny" else {"duration": " ".join(rest[1:])}
            return "/slack/interactions", interaction_body(submission_payload(
                user, form, values, {"request_id": rest[0], "response_url": response_url}))
    raise ValueError("say `/request-access ...`, `click <approve|deny|revoke|extend> <id>`, "
                     "`submit request <profile> <duration> <reason...>`, `submit deny <id> [reason...]` or "
                     "`submit extend <id> <duration>`")


def _send(url: str, body: bytes, secret: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers=signed_headers(secret, body, int(time.time())))
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _readable_answer(answer: str, names: dict[str, str]) -> str:
    from tools.slack_stub import visible

    try:
        body = json.loads(answer)
    except ValueError:
        return "  " + answer
    if isinstance(body, dict) and "response_action" in body:
        return "  " + json.dumps(body)
    return "\n".join("  " + line for line in visible(body, names).splitlines())


def _stub_count(stub: str | None) -> int:
    if not stub:
        return 0
    with urllib.request.urlopen(f"{stub}/calls?after=0", timeout=5) as answer:
        return int(json.load(answer)["count"])


def _print_new_calls(stub: str, seen: int, names: dict[str, str], quiet_s: float = 1.5, limit_s: float = 10) -> None:
    """Prints what the broker posts, until it has been quiet a moment (deferred work runs after the answer)."""
    from tools.slack_stub import Call, readable

    start = last = time.monotonic()
    while time.monotonic() - last < quiet_s and time.monotonic() - start < limit_s:
        with urllib.request.urlopen(f"{stub}/calls?after={seen}", timeout=5) as answer:
            found = json.load(answer)
        for call in found["calls"]:
            print(readable(Call(call["method"], call["body"]), names), end="")
            last = time.monotonic()
        seen = found["count"]
        time.sleep(0.2)


def _local_env() -> dict[str, str]:
    if not ENV_FILE.exists():
        return {}
    return dict(line.split("=", 1) for line in ENV_FILE.read_text().splitlines() if "=" in line)


def _slack_names(env: dict[str, str]) -> dict[str, str]:
    """Slack user id -> person id, from the catalog the server uses."""
    from chalicelib.catalog import load_catalog

    path = Path(env.get("ACCESS_BROKER_CATALOG", "chalicelib/catalog/demo.yaml"))
    catalog = load_catalog(path if path.is_absolute() else ROOT / path)
    return {p.slack_user_id: p.id for p in catalog.people.values() if p.slack_user_id}


if __name__ == "__main__":
    sys.exit(main())
