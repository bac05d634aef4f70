"""The signed console link: /v1/console/{token} redirects to the switch-role page while the grant lasts."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.routes.http import routes

console = Blueprint(__name__)
route = routes(console)


@route("/v1/console/{token}")
def open_console(token: str) -> Response:
    url = bootstrap.broker().console_redirect(token)
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"})
