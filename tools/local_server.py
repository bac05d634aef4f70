"""The app on chalice's local server, in a thread, with the local stage's settings: for `make run`,
`make demo` and the tests that need a real HTTP server. Like API Gateway, it checks SigV4 on the routes that
carry the IAM authorizer (tools/local_sigv4.py); an unsigned request goes through, for X-Local-Principal."""
from __future__ import annotations

import base64
import json
import os
import threading
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Iterator

from chalice import IAMAuthorizer
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    InvalidAuthorizerError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
)

from tools import gateway_responses, local_sigv4

ROOT = Path(__file__).resolve().parent.parent
KEPT_FROM_CALLER = ("ACCESS_BROKER_CATALOG",)  # the contract's way to serve another catalog


class SigV4Authorizer(LocalGatewayAuthorizer):
    """API Gateway's IAM authorizer in front of chalice's local gateway: a signed request reaches the app with
    `requestContext.identity` filled in from its signature, or gets API Gateway's 403."""

    def __init__(self, app: Any, keys: local_sigv4.WorldKeys) -> None:
        super().__init__(app)
        self._keys = keys

    def authorize(self, raw_path: str, lambda_event: dict, lambda_context: Any) -> tuple[dict, Any]:
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, IAMAuthorizer):
            return super().authorize(raw_path, lambda_event, lambda_context)
        headers = lambda_event["headers"]
        if not local_sigv4.is_signed(headers, raw_path):
            return lambda_event, lambda_context
        body = lambda_event.get("body")
        if lambda_event.get("isBase64Encoded"):
            body = base64.b64decode(body)
        try:
            identity = local_sigv4.verify(lambda_event["requestContext"]["httpMethod"],
                                          f"http://{headers.get('host', '')}{raw_path}", headers, body, self._keys)
        except local_sigv4.Refused as refused:
            raise ForbiddenError({"x-amzn-RequestId": lambda_context.aws_request_id,
                                  "x-amzn-ErrorType": refused.error_type},
                                 json.dumps({"message": refused.message}).encode()) from None
        except local_sigv4.WorldUnavailable as exc:
            raise InvalidAuthorizerError({"x-amzn-RequestId": lambda_context.aws_request_id,
                                          "x-amzn-ErrorType": "AuthorizerConfigurationException"},
                                         json.dumps({"message": str(exc)}).encode()) from None
        lambda_event["requestContext"]["identity"].update(identity.context())
        return lambda_event, lambda_context


class SigV4RequestHandler(ChaliceRequestHandler):
    quiet = False

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any,
                 keys: local_sigv4.WorldKeys) -> None:
        # What ChaliceRequestHandler.__init__ does, with the SigV4 authorizer in place of chalice's local one
        # (which lets every IAM-authorized request through).
        self.local_gateway = LocalGateway(app_object, config)
        self.local_gateway._authorizer = SigV4Authorizer(app_object, keys)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)  # handles the request

    def _send_error_response(self, error: Any) -> None:
        """The gateway's own answers as the deployed API's gateway responses shape them (a path no route has)."""
        answer = gateway_responses.answer_for(error.CODE, error.body)
        if answer is None:
            return super()._send_error_response(error)
        status, headers, body = answer
        self._send_http_response(status, {**error.headers, **headers}, body)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            super().log_message(format, *args)


@contextmanager
def serving(port: int = 0, quiet: bool = False) -> Iterator[str]:
    """Serves on 127.0.0.1:`port` (0: a free one) against the world in the environment, table created;
    yields the base URL. The stage's environment variables are set while serving and restored after;
    ACCESS_BROKER_CATALOG, when the caller set it, wins over the stage's."""
    from chalice.cli.factory import CLIFactory

    from chalicelib import bootstrap
    from chalicelib.store.schema import create_table

    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name="local")
    stage_env = {name: value for name, value in config.environment_variables.items()
                 if not (name in KEPT_FROM_CALLER and os.environ.get(name))}
    before = {name: os.environ.get(name) for name in stage_env}
    os.environ.update(stage_env)
    bootstrap.reset()
    create_table(bootstrap.settings().table_name)
    app = config.chalice_app
    if not isinstance(app, LocalChalice):
        # What chalice's create_local_server does to the app (a thread-local current_request), done once: doing it
        # again, for a second server in the same process, would make the class inherit from itself.
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    handler = partial(type("Handler", (SigV4RequestHandler,), {"quiet": quiet}), keys=local_sigv4.WorldKeys())
    server = LocalDevServer(app, config, "127.0.0.1", port, handler_cls=handler)
    thread = threading.Thread(target=server.server.serve_forever, name="chalice-local", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.shutdown()
        server.server.server_close()
        thread.join(5)
        for name, value in before.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        bootstrap.reset()
