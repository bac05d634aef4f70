"""A stand-in for Slack's Web API on 127.0.0.1: records every call, answers the way Slack does, and prints
posted messages readably. Used by the tests and by `make run` when no real Slack is configured.

It also holds a workspace's people and user groups (`set_directory`) and answers Slack's read methods on them:
`users.lookupByEmail`, `users.info` and `usergroups.users.list`, with Slack's errors (`users_not_found`,
`user_not_found`, `no_such_subteam`, `invalid_arguments`; `missing_scope` for a scope the app was not granted: by
default it has the scopes slack/manifest.yaml asks for). Like Slack, these take their arguments as a query string or
a form, never as JSON.

Also takes `response_url` posts (POST /response/<anything>) and lists what it recorded (GET /calls?after=N),
so tools/slack_cli.py can show what the broker said."""
from __future__ import annotations

import itertools
import json
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable, Mapping, TextIO
from urllib.parse import parse_qs, urlparse

from tools import loopback

HOLD_AT_MOST_S = 5.0  # a held method answers after this long even if nobody releases it
MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.yaml"
TEAM_ID = "T0LOCAL01"
# Slack's read methods the stub answers from its directory: the scope each needs, and its required argument.
READ_METHODS: dict[str, tuple[str, str]] = {
    "users.lookupByEmail": ("users:read.email", "email"),
    "users.info": ("users:read", "user"),
    "usergroups.users.list": ("usergroups:read", "usergroup"),
}


def manifest_scopes() -> frozenset[str]:
    """The bot scopes slack/manifest.yaml asks for: what an installed app's token carries."""
    import yaml

    return frozenset(yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])


@dataclass(frozen=True)
class SlackUser:
    """Someone in the stub's workspace."""

    id: str  # U... or W...
    name: str
    email: str | None = None
    deleted: bool = False  # a deactivated account

    def as_slack(self, with_email: bool) -> dict[str, Any]:
        """The user object as users.info and users.lookupByEmail answer it (the email only with users:read.email)."""
        profile: dict[str, Any] = {"real_name": self.name, "display_name": self.name, "real_name_normalized":
                                   self.name, "display_name_normalized": self.name, "team": TEAM_ID}
        if with_email and self.email:
            profile["email"] = self.email
        return {"id": self.id, "team_id": TEAM_ID, "name": self.name, "deleted": self.deleted,
                "real_name": self.name, "tz": "Europe/London", "tz_label": "Greenwich Mean Time", "tz_offset": 0,
                "profile": profile, "is_admin": False, "is_owner": False, "is_primary_owner": False,
                "is_restricted": False, "is_ultra_restricted": False, "is_bot": False, "is_app_user": False,
                "updated": 1700000000, "has_2fa": False}


@dataclass
class Call:
    method: str  # a Web API method like chat.postMessage, or "response_url"
    body: dict[str, Any]
    path: str = ""
    answered: bool = False
    # The arguments as Slack's read methods take them: the query string and a form body, never a JSON body.
    arguments: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "body": self.body, "path": self.path}


@dataclass
class _Failure:
    error: str
    times: int
    retry_after: int | None


@dataclass
class SlackStub:
    echo: bool = False
    out: TextIO = sys.stdout
    names: Mapping[str, str] = field(default_factory=dict)  # Slack user id -> name, for readable output
    scopes: frozenset[str] = field(default_factory=manifest_scopes)  # what the bot token was granted
    _users: dict[str, SlackUser] = field(default_factory=dict)
    _usergroups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _calls: list[Call] = field(default_factory=list)
    _failures: dict[str, _Failure] = field(default_factory=dict)
    _holds: dict[str, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    # -- lifecycle

    def start(self, port: int = 0) -> SlackStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = loopback.serve(Handler, "slack-stub", port)
        return self

    def stop(self) -> None:
        for gate in self._holds.values():
            gate.set()
        if self._server:
            loopback.close(self._server)

    @property
    def url(self) -> str:
        assert self._server, "start() the stub first"
        return loopback.url(self._server)

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL (WebClient's base_url) should be."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "hook") -> str:
        return f"{self.url}/response/{name}"

    # -- what tests look at and arrange

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def reset(self) -> None:
        """Forgets calls, failures, holds and the directory."""
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._users.clear()
            self._usergroups.clear()
        for gate in self._holds.values():
            gate.set()
        self._holds.clear()

    def fail(self, method: str, error: str, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` calls of `method` answer {"ok": false, "error": error} (429 + Retry-After if set)."""
        self._failures[method] = _Failure(error, times, retry_after)

    def set_directory(self, users: Iterable[SlackUser] = (),
                      usergroups: Mapping[str, Iterable[str]] | None = None) -> None:
        """The workspace's people and user groups (id -> member ids), replacing what was there."""
        with self._lock:
            self._users = {user.id: user for user in users}
            self._usergroups = {group: tuple(members) for group, members in (usergroups or {}).items()}

    def set_usergroup(self, usergroup: str, members: Iterable[str] | None) -> None:
        """One user group's members; None deletes the group (usergroups.users.list then answers no_such_subteam)."""
        with self._lock:
            if members is None:
                self._usergroups.pop(usergroup, None)
            else:
                self._usergroups[usergroup] = tuple(members)

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` wait (at most HOLD_AT_MOST_S) until the returned event is set: a slow Slack."""
        gate = self._holds[method] = threading.Event()
        return gate

    # -- the server side

    def _record(self, method: str, body: dict[str, Any], path: str = "",
                arguments: dict[str, str] | None = None) -> Call:
        call = Call(method, body, path, arguments=arguments or {})
        with self._lock:
            self._calls.append(call)
        if self.echo and method not in READ_METHODS:  # reads post nothing anyone would see
            print(readable(call, self.names), file=self.out, end="", flush=True)
        return call

    def _answer(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        gate = self._holds.get(call.method)
        if gate is not None:
            gate.wait(HOLD_AT_MOST_S)
        with self._lock:
            failure = self._failures.get(call.method)
            if failure and failure.times > 0:
                failure.times -= 1
                call.answered = True
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return (429 if failure.error == "ratelimited" else 200), headers, {"ok": False, "error": failure.error}
            call.answered = True
            ts = f"{1700000000 + next(self._ts)}.000100"
        if call.method in READ_METHODS:
            return 200, {}, self._read(call)
        channel = str(call.body.get("channel", ""))
        if call.method == "chat.postMessage":
            dm = "D" + channel[1:] if channel.startswith(("U", "W")) else channel  # posting to a user opens a DM
            return 200, {}, {"ok": True, "channel": dm, "ts": ts, "message": {"text": call.body.get("text", "")}}
        if call.method == "chat.update":
            return 200, {}, {"ok": True, "channel": channel, "ts": call.body.get("ts"), "text": call.body.get("text")}
        if call.method == "chat.postEphemeral":
            return 200, {}, {"ok": True, "message_ts": ts}
        if call.method == "views.open":
            return 200, {}, {"ok": True, "view": {"id": f"V{next(self._ts):08d}", **(call.body.get("view") or {})}}
        return 200, {}, {"ok": True}

    def _read(self, call: Call) -> dict[str, Any]:
        """A read method's answer from the directory, as Slack gives it."""
        scope, argument = READ_METHODS[call.method]
        if scope not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": scope, "provided": ",".join(sorted(self.scopes))}
        value = call.arguments.get(argument)
        if not value:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": [f"[ERROR] missing required field: {argument}"]}}
        with self._lock:
            users, usergroups = dict(self._users), dict(self._usergroups)
        if call.method == "usergroups.users.list":
            if value not in usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(usergroups[value])}
        with_email = "users:read.email" in self.scopes
        if call.method == "users.info":
            found = users.get(value)  # a deactivated account too, with "deleted": true
            if found is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": found.as_slack(with_email)}
        # users.lookupByEmail: deactivated accounts are not found (Slack's docs say so), emails compare without case
        match = [u for u in users.values() if u.email and u.email.lower() == value.lower() and not u.deleted]
        return {"ok": True, "user": match[0].as_slack(True)} if match else {"ok": False, "error": "users_not_found"}


class _Handler(BaseHTTPRequestHandler):
    owner: SlackStub

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parsed = urlparse(self.path)
        path = parsed.path
        content_type = self.headers.get("Content-Type", "")
        body = _decode(raw, content_type)
        if path.startswith("/response/"):
            call = self.owner._record("response_url", body, path)
            gate = self.owner._holds.get("response_url")
            if gate is not None:
                gate.wait(HOLD_AT_MOST_S)
            call.answered = True
            return self._send(200, {}, b"ok", "text/plain")
        if not path.startswith("/api/"):
            return self._send(404, {}, b"not found", "text/plain")
        form = {} if "json" in content_type else {k: str(v) for k, v in body.items()}
        self._api(path, body, {**_query(parsed.query), **form})

    def _api(self, path: str, body: dict[str, Any], arguments: dict[str, str]) -> None:
        status, headers, answer = self.owner._answer(self.owner._record(path.removeprefix("/api/"), body,
                                                                        arguments=arguments))
        self._send(status, headers, json.dumps(answer).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802
        parsed = urlparse(self.path)
        if parsed.path.startswith("/api/"):  # Slack's read methods, as slack-sdk calls them: arguments in the query
            arguments = _query(parsed.query)
            return self._api(parsed.path, dict(arguments), arguments)
        if parsed.path != "/calls":
            return self._send(404, {}, b"not found", "text/plain")
        after = int((parse_qs(parsed.query).get("after") or ["0"])[0])
        calls = [c.as_json() for c in self.owner.calls()[after:]]
        self._send(200, {}, json.dumps({"calls": calls, "count": after + len(calls)}).encode(), "application/json")

    def _send(self, status: int, headers: dict[str, str], payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller stopped waiting (a test of Slack holding an answer past the client's timeout)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: calls are printed readably instead
        return None


def _query(query: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            found = json.loads(text or "{}")
            return found if isinstance(found, dict) else {"_": found}
        except ValueError:
            return {"_raw": text}
    form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    for name in ("blocks", "view", "attachments"):  # WebClient sends these JSON-encoded inside forms
        if isinstance(form.get(name), str):
            try:
                form[name] = json.loads(form[name])
            except ValueError:
                pass
    return form


# -- readable output, shared by the stub's echo, the CLI and the tests' assertions


def visible(body: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """The text a person sees for a message, a modal or a response_url reply: blocks if any, else `text`."""
    view = body.get("view")
    if isinstance(view, dict):
        title = (view.get("title") or {}).get("text", "")
        return "\n".join([f"[{title}]", *_blocks(view.get("blocks") or [], names or {}),
                          *([f"[{view['submit']['text']}]"] if view.get("submit") else [])])
    blocks = body.get("blocks")
    if isinstance(blocks, list) and blocks:
        return "\n".join(_blocks(blocks, names or {}))
    return _mrkdwn(str(body.get("text", "")), names or {})


def readable(call: Call, names: Mapping[str, str] | None = None) -> str:
    where = call.body.get("channel") or ""
    where = f" -> {names.get(where, where) if names else where}" if where else ""
    if call.method == "response_url":
        kind = "replace" if call.body.get("replace_original") else call.body.get("response_type", "ephemeral")
        where = f" ({kind})"
    text = visible(call.body, names)
    return f"--- slack {call.method}{where}\n" + "\n".join(f"  {line}" for line in text.splitlines()) + "\n"


def _blocks(blocks: list[Any], names: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("section", "header") and block.get("text"):
            lines.extend(_mrkdwn(block["text"].get("text", ""), names).splitlines())
        if kind == "section":
            lines.extend(_mrkdwn(f.get("text", ""), names).replace("\n", ": ", 1) for f in block.get("fields") or [])
        elif kind == "context":
            lines.append(" · ".join(_mrkdwn(e.get("text", ""), names) for e in block.get("elements") or []))
        elif kind == "actions":
            lines.append(" ".join(f"[{(e.get('text') or {}).get('text', '?')}]" for e in block.get("elements") or []))
        elif kind == "input":
            label = (block.get("label") or {}).get("text", "")
            element = block.get("element") or {}
            choices = [o["text"]["text"] for o in element.get("options") or []]
            lines.append(f"{label}: " + (" / ".join(choices) if choices else "________"))
        elif kind == "divider":
            lines.append("----")
    return lines


def _mrkdwn(text: str, names: Mapping[str, str]) -> str:
    """Slack's markup as a terminal shows it: @names, link labels, date fallbacks."""
    text = re.sub(r"<@([UW][A-Z0-9]+)>", lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<#([CGD][A-Z0-9]+)>", r"#\1", text)
    text = re.sub(r"<!date\^[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<([^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


if __name__ == "__main__":  # a standalone stub: python -m tools.slack_stub [port]
    stub = SlackStub(echo=True).start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"Slack Web API stub on {stub.api_url} (Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        stub.stop()
