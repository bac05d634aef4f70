"""The local stand-ins' HTTP servers (tools/slack_stub.py, tools/pagerduty_stub.py): one handler class answering on
127.0.0.1 in a daemon thread, each request in a daemon thread of its own, so a test that ends never waits on them."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(handler: type[BaseHTTPRequestHandler], name: str, port: int = 0) -> ThreadingHTTPServer:
    """`handler` answering on 127.0.0.1:`port` (0: a free port) from a thread named `name`."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    # polled often: a test's own stand-in is closed at its end, and shutdown() waits for the next poll
    threading.Thread(target=server.serve_forever, name=name, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server


def url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def close(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()
