"""An API stand-in for the CLI's tests, on loopback: it answers what a test gives it (a malicious answer, a 500, a
list in pages), which the real app never would, and records what the CLI asked. It checks no signature."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

from access_broker_cli.main import run
from tools import loopback

# (method, path, query) -> (status, JSON body)
Answer = Callable[[str, str, dict[str, str]], "tuple[int, Any]"]


@dataclass
class StubApi:
    url: str
    asked: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)  # each call's JSON body, None for a GET


@contextmanager
def stub_api(answer: Answer) -> Iterator[StubApi]:
    """Serves `answer` on 127.0.0.1 at a free port until the block ends."""
    stub = StubApi("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stub.bodies.append(None)
            self._answer("GET")

        def do_POST(self) -> None:
            stub.bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null"))
            self._answer("POST")

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            stub.asked.append((method, parts.path, query))
            status, body = answer(method, parts.path, query)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if status < 400 else "application/problem+json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = loopback.serve(Handler, "stub-api")
    stub.url = loopback.url(server)
    try:
        yield stub
    finally:
        loopback.close(server)


def active_request(request_id: str = "01jc0ffee0000000000000000a", *, iam_user: str = "s3-access",
                   role_arn: str = "arn:aws:iam::222222222222:role/switch-role-for-S3",
                   expires_at: str = "2999-01-01T00:00:00Z", **fields: Any) -> dict[str, Any]:
    """An active request as GET /v1/requests/{id} answers it, with what a test changes."""
    return {"id": request_id, "state": "active", "profile": "s3-prod", "account": "222222222222",
            "role_arn": role_arn, "requester": {"id": iam_user, "iam_user": iam_user}, "reason": "fixing the export",
            "duration_seconds": 3600, "approvals_required": 1, "created_at": "2026-01-01T00:00:00Z",
            "approvals": [{"by": "bob", "at": "2026-01-01T00:00:00Z"}],
            "grant": {"role_arn": role_arn, "policy_arn": "arn:aws:iam::111111111111:policy/access-broker/local/x",
                      "starts_at": "2026-01-01T00:00:00Z", "expires_at": expires_at,
                      "switch_role_url": "https://signin.aws.amazon.com/switchrole?account=222222222222",
                      "console_url": "/v1/console/token"}, **fields}


def run_cli(monkeypatch: Any, tmp_path: Any, url: str, *args: str) -> int:
    """`access-broker ARGS` in this process against `url`, signing with made-up keys from the environment (the stub
    checks no signature); what it prints is left for capsys."""
    for name in [n for n in os.environ if n.startswith(("AWS_", "ACCESS_BROKER_"))]:
        monkeypatch.delenv(name)
    for name, value in {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "made-up",
                        "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
                        "ACCESS_BROKER_URL": url}.items():
        monkeypatch.setenv(name, value)
    return run(list(args))
