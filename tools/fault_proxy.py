"""A tiny HTTP proxy in front of the AWS emulator that answers chosen IAM or STS calls with the errors AWS gives and
moto never does (throttling, LimitExceeded, DeleteConflict, ExpiredToken, 5xx).

Clients keep signing for the proxy's host; requests are forwarded byte for byte (Host header included),
so the emulator checks the same SigV4 signature. An injected error is what AWS sends for that code: its HTTP
status, and the query protocol's `<ErrorResponse>` in the service's namespace, so botocore raises a ClientError with
that code, message and status. Used by the fault tests; handy by hand too (docs/local-world.md)."""
from __future__ import annotations

import http.client
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape


class Shape(NamedTuple):
    status: int
    fault_type: str  # Sender: the caller's fault; Receiver: AWS's
    message: str


# As IAM and STS answer them (botocore's iam and sts models give 409 for LimitExceeded and DeleteConflict; the
# others are the query protocol's common errors). A code not listed here needs its status given.
SHAPES: dict[str, Shape] = {
    "Throttling": Shape(400, "Sender", "Rate exceeded"),
    "LimitExceeded": Shape(409, "Sender", "Cannot exceed quota for PolicySize: 10240"),
    "DeleteConflict": Shape(409, "Sender", "Cannot delete a policy attached to entities."),
    "ExpiredToken": Shape(403, "Sender", "The security token included in the request is expired"),
    "ServiceUnavailable": Shape(503, "Receiver", "Service is unable to handle request."),
    "InternalFailure": Shape(500, "Receiver", "We encountered an internal error. Please try again."),
}
NAMESPACES = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}


@dataclass
class Fault:
    times: int  # how many more matching requests fail
    status: int
    code: str
    message: str
    fault_type: str
    service: str | None  # "iam", "sts", or None for either


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.faults: dict[str, Fault] = {}
        self.seen: Counter[str] = Counter()  # action -> requests received (failed ones included)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True).start()

    def fail(self, action: str, times: int = 1, status: int | None = None, code: str = "Throttling",
             message: str | None = None, service: str | None = None) -> None:
        """The next `times` requests for `action` (e.g. AttachUserPolicy; of `service`, "iam" or "sts", when given)
        get AWS's answer for the error `code` instead: its status and message (SHAPES) unless given here."""
        shape = SHAPES.get(code)
        if shape is None and status is None:
            raise ValueError(f"no known HTTP status for the error code {code!r} (known: {', '.join(SHAPES)}); "
                             f"pass status=")
        if service is not None and service not in NAMESPACES:
            raise ValueError(f"service {service!r}: the fault proxy answers for {' and '.join(NAMESPACES)} only")
        status = status if status is not None else shape.status  # type: ignore[union-attr]
        with self._lock:
            self.faults[action] = Fault(times, status, code, message or (shape.message if shape else code),
                                        shape.fault_type if shape else ("Receiver" if status >= 500 else "Sender"),
                                        service)

    def heal(self) -> None:
        with self._lock:
            self.faults.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _take(self, action: str, service: str) -> Fault | None:
        with self._lock:
            self.seen[action] += 1
            fault = self.faults.get(action)
            if fault and fault.times > 0 and fault.service in (None, service):
                fault.times -= 1
                return fault
            return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self._relay()

            def do_GET(self) -> None:  # noqa: N802
                self._relay()

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = (parse_qs(body.decode(errors="replace")).get("Action") or [""])[0] or \
                    (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                service = signed_service(self.headers.get("Authorization") or "")
                fault = proxy._take(action, service)
                if fault:
                    return self._answer(fault.status, error_xml(fault, service), "text/xml")
                upstream = http.client.HTTPConnection(proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port,
                                                      timeout=30)
                try:
                    upstream.request(self.command, self.path, body, dict(self.headers))
                    reply = upstream.getresponse()
                    self._answer(reply.status, reply.read(), reply.getheader("Content-Type", "text/xml"))
                except OSError as exc:  # what a proxy says when what it fronts is gone
                    self._answer(502, f"the fault proxy could not reach {proxy.upstream.netloc}: {exc}".encode(),
                                 "text/plain")
                finally:
                    upstream.close()

            def _answer(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amzn-RequestId", "fault-proxy")
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def signed_service(authorization: str) -> str:
    """The service a SigV4 Authorization header is scoped to (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`)."""
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    return scope[3] if len(scope) == 5 else ""


def error_xml(fault: Fault, service: str) -> bytes:
    namespace = NAMESPACES.get(service, NAMESPACES["iam"])
    return (f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault.fault_type}</Type>'
            f"<Code>{escape(fault.code)}</Code><Message>{escape(fault.message)}</Message></Error>"
            f"<RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
