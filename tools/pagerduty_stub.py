"""A stand-in for PagerDuty's REST API v2 on 127.0.0.1, as much of it as the broker uses: `GET /oncalls`.

Answers as PagerDuty does: the token in `Authorization: Token token=...` or 401 with PagerDuty's error body; a
schedule it does not know 404; pages by `limit`/`offset` with `more`; full user objects (email included) with
`include[]=users`, references otherwise. Who is on call is set by hand: in memory (tests: `set_on_call`), or in a
JSON file read on every request (`make run`: .local/pagerduty-oncall.json, which `make on-call` writes):

    {"schedules": {"P0SCHED1": ["alice@example.com"], "P0SCHED2": []}}

An entry is an email, or an object {"email": ..., "id": ..., "name": ...} (email null: a user without one). A listed
schedule with nobody is known to PagerDuty, with no one on call. Tests can make it fail: `fail(status)` (429 with
Retry-After, 500...), `slow(seconds)`, `not_json()`, or answer as is (`say(body)`: an answer of a shape PagerDuty does
not document, a proxy's error page, an answer too large).

    python -m tools.pagerduty_stub on-call EMAIL [--schedule ID]   # what `make on-call` runs: EMAIL on call now
    python -m tools.pagerduty_stub on-call nobody [--schedule ID]  # nobody on call in that schedule
    python -m tools.pagerduty_stub serve [PORT]                    # a standalone stand-in on the file"""
from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tools import loopback

ROOT = Path(__file__).resolve().parent.parent
ON_CALL_FILE = ROOT / ".local" / "pagerduty-oncall.json"
STUB_TOKEN = "pd-local-stub"  # what the broker sends the stand-in: a placeholder, not a secret
DEFAULT_SCHEDULE = "P0SCHED1"  # the demo catalog's
DEFAULT_LIMIT, MAX_LIMIT = 25, 100  # PagerDuty's page sizes
SLOW_AT_MOST_S = 30.0
# PagerDuty's error bodies: {"error": {"message", "code"}} (its error code list: 2006 authentication, 2100 not found,
# 2020 rate limit; 5xx bodies vary)
UNAUTHORIZED = {"error": {"message": "Unauthorized", "code": 2006}}
NOT_FOUND = {"error": {"message": "Not Found", "code": 2100}}
RATE_LIMITED = {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
SERVER_ERROR = {"error": {"message": "Internal Server Error", "code": 2000}}


@dataclass
class _Fault:
    status: int = 0  # an HTTP status to answer with; 0: answer normally
    delay_s: float = 0.0  # wait this long first
    not_json: bool = False
    retry_after: int | None = None
    body: bytes | None = None  # answer this as is (with `status`, 200 if 0)
    not_http: bool = False  # answer a line that is not HTTP at all (something else listening)


@dataclass
class PagerDutyStub:
    token: str = STUB_TOKEN
    file: Path | None = None  # who is on call, read on every request; None: set_on_call's, in memory
    # each GET: path, query (lists), headers, at (epoch s), and target: the path and query as sent, before http.server
    # makes a leading // one /
    requests: list[dict[str, Any]] = field(default_factory=list)
    _schedules: dict[str, list[Any]] = field(default_factory=dict)
    _faults: list[_Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _pending: int = 0
    _server: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> PagerDutyStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = loopback.serve(Handler, "pagerduty-stub", port)
        return self

    def stop(self) -> None:
        self._stopping.set()  # a slow answer in progress gives up
        if self._server:
            loopback.close(self._server)

    @property
    def url(self) -> str:
        """What PAGERDUTY_API_URL should be."""
        assert self._server, "start() the stub first"
        return loopback.url(self._server)

    # -- what tests arrange

    def set_on_call(self, schedule: str, *people: Any) -> None:
        """`people` (emails, or {"email", "id", "name"} objects) are on call now in `schedule`; none: nobody is."""
        with self._lock:
            self._schedules[schedule] = list(people)

    def fail(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` requests answer `status` with PagerDuty's error body (429: with Retry-After if given)."""
        self._faults += [_Fault(status=status, retry_after=retry_after) for _ in range(times)]

    def slow(self, seconds: float, times: int = 1) -> None:
        self._faults += [_Fault(delay_s=seconds) for _ in range(times)]

    def not_json(self, times: int = 1) -> None:
        self._faults += [_Fault(not_json=True) for _ in range(times)]

    def say(self, body: Any, status: int = 200, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` requests answer `status` with `body` as is: bytes, or anything JSON can write."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self._faults += [_Fault(status=status, retry_after=retry_after, body=raw) for _ in range(times)]

    def not_http(self, times: int = 1) -> None:
        """The next `times` requests are answered by a line that is no HTTP status line, then the connection closes."""
        self._faults += [_Fault(not_http=True) for _ in range(times)]

    @property
    def pending(self) -> int:
        """Requests still being answered (a slow answer in progress)."""
        with self._lock:
            return self._pending

    def reset(self) -> None:
        with self._lock:
            self._schedules.clear()
            self._faults.clear()
            self.requests.clear()

    # -- the server side

    def schedules(self) -> dict[str, list[Any]]:
        if self.file is None:
            with self._lock:
                return {k: list(v) for k, v in self._schedules.items()}
        return read_file(self.file)

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str],
               target: str = "") -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append({"path": path, "query": query, "headers": headers, "at": time.time(),
                                  "target": target})
            fault = self._faults.pop(0) if self._faults else _Fault()
        if fault.delay_s:
            with self._lock:
                self._pending += 1
            self._stopping.wait(min(fault.delay_s, SLOW_AT_MOST_S))
            with self._lock:
                self._pending -= 1
        if fault.not_json:
            return 200, {}, b"<html><body>502 Bad Gateway</body></html>"
        if fault.not_http:
            return 0, {}, b"SSH-2.0-OpenSSH_9.6\r\n"
        if fault.body is not None:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return fault.status or 200, extra, fault.body
        if fault.status:
            body = RATE_LIMITED if fault.status == 429 else SERVER_ERROR if fault.status >= 500 else \
                {"error": {"message": "Error", "code": 2000}}
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return fault.status, extra, json.dumps(body).encode()
        if headers.get("authorization") != f"Token token={self.token}":
            return 401, {}, json.dumps(UNAUTHORIZED).encode()
        if path != "/oncalls":
            return 404, {}, json.dumps(NOT_FOUND).encode()
        known = self.schedules()
        wanted = query.get("schedule_ids[]") or sorted(known)
        if any(schedule not in known for schedule in wanted):
            return 404, {}, json.dumps(NOT_FOUND).encode()
        try:
            limit = min(int((query.get("limit") or [DEFAULT_LIMIT])[0]), MAX_LIMIT)
            offset = int((query.get("offset") or ["0"])[0])
        except ValueError:
            return 400, {}, json.dumps({"error": {"message": "Invalid Input Provided", "code": 2001}}).encode()
        users = "users" in query.get("include[]", [])
        entries = [_entry(schedule, person, users) for schedule in wanted for person in known[schedule]]
        page = entries[offset:offset + limit]
        total = len(entries) if (query.get("total") or ["false"])[0] == "true" else None
        body = {"oncalls": page, "limit": limit, "offset": offset, "more": offset + limit < len(entries),
                "total": total}
        return 200, {}, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    owner: PagerDutyStub

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parsed = urlparse(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        sent = self.requestline.split(" ")
        status, extra, payload = self.owner.answer(parsed.path, parse_qs(parsed.query), headers,
                                                   sent[1] if len(sent) > 1 else self.path)
        try:
            if not status:  # not HTTP at all
                self.wfile.write(payload)
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if payload.startswith(b"{") else "text/html")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its time budget): nothing to answer
            pass

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _entry(schedule: str, person: Any, users: bool) -> dict[str, Any]:
    """One on-call entry as PagerDuty shows it (escalation level 1 of one policy per schedule, a shift of a day)."""
    spec = person if isinstance(person, dict) else {"email": person}
    email = spec.get("email")
    user_id = spec.get("id") or "PU" + hashlib.sha256(str(email).lower().encode()).hexdigest()[:5].upper()
    name = spec.get("name") or (str(email).split("@")[0] if email else user_id)
    reference = {"id": user_id, "type": "user_reference", "summary": name,
                 "self": f"https://api.pagerduty.com/users/{user_id}",
                 "html_url": f"https://local.pagerduty.com/users/{user_id}"}
    user = {**reference, "type": "user", "name": name, "email": email, "time_zone": "Etc/UTC", "role": "user"} \
        if users else reference
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "escalation_policy": {"id": f"PEP{schedule[-4:]}", "type": "escalation_policy_reference",
                              "summary": f"{schedule} escalation", "self": "", "html_url": ""},
        "escalation_level": 1,
        "schedule": {"id": schedule, "type": "schedule_reference", "summary": schedule,
                     "self": f"https://api.pagerduty.com/schedules/{schedule}",
                     "html_url": f"https://local.pagerduty.com/schedules/{schedule}"},
        "user": user,
        "start": today.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (today + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def read_file(path: Path) -> dict[str, list[Any]]:
    """The on-call file's schedules; a missing or broken file is no schedule at all (every lookup: 404)."""
    try:
        schedules = json.loads(path.read_text()).get("schedules")
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): list(v) for k, v in schedules.items() if isinstance(v, list)} if isinstance(schedules, dict) \
        else {}


def write_file(path: Path, schedules: dict[str, list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    part.write_text(json.dumps({"schedules": schedules}, indent=2) + "\n")
    part.replace(path)  # the stand-in never reads half a file


def set_on_call_file(path: Path, schedule: str, email: str) -> dict[str, list[Any]]:
    """`make on-call`: `email` is the one person on call now in `schedule` ("nobody": no one is)."""
    schedules = read_file(path)
    schedules[schedule] = [] if email.lower() == "nobody" else [email]
    write_file(path, schedules)
    return schedules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    on_call = commands.add_parser("on-call", help="set who is on call now in a schedule of `make run`'s stand-in")
    on_call.add_argument("email", nargs="?", help="the person's email (as in the catalog), or nobody")
    on_call.add_argument("--schedule", default=DEFAULT_SCHEDULE)
    on_call.add_argument("--file", type=Path, default=None, help=f"default: {ON_CALL_FILE.relative_to(ROOT)}")
    serve = commands.add_parser("serve", help="a standalone stand-in answering from the on-call file")
    serve.add_argument("port", nargs="?", type=int, default=0)
    args = parser.parse_args()
    if args.command == "on-call":
        path = args.file or ON_CALL_FILE
        if not args.email:
            print(json.dumps({"schedules": read_file(path)}, indent=2))
            return
        if args.email.lower() != "nobody" and "@" not in args.email:
            raise SystemExit(f"make on-call: EMAIL={args.email!r} is not an email; give the person's catalog email, "
                             f"like EMAIL=alice@example.com, or EMAIL=nobody")
        schedules = set_on_call_file(path, args.schedule, args.email)
        who = ", ".join(map(str, schedules[args.schedule])) or "nobody"
        print(f"PagerDuty stand-in: on call now in {args.schedule}: {who} ({path})")
        return
    stub = PagerDutyStub(file=ON_CALL_FILE).start(args.port)
    print(f"PagerDuty stand-in on {stub.url} (token {STUB_TOKEN}; Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        stub.stop()


if __name__ == "__main__":
    main()
