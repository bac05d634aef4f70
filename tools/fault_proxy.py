"""A tiny HTTP proxy in front of the AWS emulator that answers chosen actions with errors (throttling, 5xx).

Clients keep signing for the proxy's host; requests are forwarded byte for byte (Host header included),
so the emulator checks the same SigV4 signature. Used by the fault tests; handy by hand too."""
from __future__ import annotations

import http.client
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    times: int  # how many more matching requests fail
    status: int
    code: str


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.faults: dict[str, Fault] = {}
        self.seen: Counter = Counter()  # action -> requests received (failed ones included)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True).start()

    def fail(self, action: str, times: int = 1, status: int = 400, code: str = "Throttling") -> None:
        """The next `times` requests for `action` (e.g. AttachUserPolicy) get an AWS error instead."""
        with self._lock:
            self.faults[action] = Fault(times, status, code)

    def heal(self) -> None:
        with self._lock:
            self.faults.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _take(self, action: str) -> Fault | None:
        with self._lock:
            self.seen[action] += 1
            fault = self.faults.get(action)
            if fault and fault.times > 0:
                fault.times -= 1
                return fault
            return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                self._relay()

            def do_GET(self) -> None:
                self._relay()

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = (parse_qs(body.decode(errors="replace")).get("Action") or [""])[0] or \
                    (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                fault = proxy._take(action)
                if fault:
                    return self._answer(fault.status, _error_xml(fault.code), "text/xml")
                upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                try:
                    upstream.request(self.command, self.path, body, dict(self.headers))
                    reply = upstream.getresponse()
                    self._answer(reply.status, reply.read(), reply.getheader("Content-Type", "text/xml"))
                finally:
                    upstream.close()

            def _answer(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _error_xml(code: str) -> bytes:
    return (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>injected by the fault proxy</Message></Error>"
            f"<RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
