"""A stand-in for Slack's Web API on 127.0.0.1: records every call, answers the way Slack does, and prints
posted messages readably. Used by the tests and by `make run` when no real Slack is configured.

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
from typing import Any, Mapping, TextIO
from urllib.parse import parse_qs, urlparse

HOLD_AT_MOST_S = 5.0  # a held method answers after this long even if nobody releases it


@dataclass
class Call:
    method: str  # a Web API method like chat.postMessage, or "response_url"
    body: dict[str, Any]
    path: str = ""
    answered: bool = False

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

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="slack-stub", daemon=True).start()
        return self

    def stop(self) -> None:
        for gate in self._holds.values():
            gate.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server, "start() the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

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
        with self._lock:
            self._calls.clear()
            self._failures.clear()
        for gate in self._holds.values():
            gate.set()
        self._holds.clear()

    def fail(self, method: str, error: str, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` calls of `method` answer {"ok": false, "error": error} (429 + Retry-After if set)."""
        self._failures[method] = _Failure(error, times, retry_after)

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` wait (at most HOLD_AT_MOST_S) until the returned event is set: a slow Slack."""
        gate = self._holds[method] = threading.Event()
        return gate

    # -- the server side

    def _record(self, method: str, body: dict[str, Any], path: str = "") -> Call:
        call = Call(method, body, path)
        with self._lock:
            self._calls.append(call)
        if self.echo:
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


class _Handler(BaseHTTPRequestHandler):
    owner: SlackStub

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlparse(self.path).path
        body = _decode(raw, self.headers.get("Content-Type", ""))
        if path.startswith("/response/"):
            call = self.owner._record("response_url", body, path)
            gate = self.owner._holds.get("response_url")
            if gate is not None:
                gate.wait(HOLD_AT_MOST_S)
            call.answered = True
            return self._send(200, {}, b"ok", "text/plain")
        if not path.startswith("/api/"):
            return self._send(404, {}, b"not found", "text/plain")
        status, headers, answer = self.owner._answer(self.owner._record(path.removeprefix("/api/"), body))
        self._send(status, headers, json.dumps(answer).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802
        parsed = urlparse(self.path)
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
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: calls are printed readably instead
        return None


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
