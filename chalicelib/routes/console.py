"""The signed console link: /v1/console/{token} redirects to the switch-role page while the grant lasts; before IAM
has applied it everywhere (grant.usable_at) a page says it is getting ready and moves on by itself. Once it no longer
works (403, 410), a browser gets a page saying why and how to ask again; API clients get problem+json."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.domain.errors import Forbidden, Gone
from chalicelib.routes.http import problem, routes
from chalicelib.routes.pages import EndedAccess, console_getting_ready, console_link_refused, prefers_html

console = Blueprint(__name__)
route = routes(console)


@route("/v1/console/{token}")
def open_console(token: str) -> Response:
    broker = bootstrap.broker()
    try:
        grant = broker.console_link(token)
    except (Forbidden, Gone) as refused:
        if prefers_html(console.current_request.headers.get("accept")):
            return console_link_refused(refused.status, _ended(token) if isinstance(refused, Gone) else
                                        EndedAccess(None), broker.clock())
        return problem(refused.status, refused.title, refused.detail, {"Vary": "Accept", "Cache-Control": "no-store"},
                       **refused.extra)
    now = broker.clock()
    if grant.usable_at and now < grant.usable_at:  # IAM is still applying the grant: a click now would be refused
        return console_getting_ready(grant, now)
    return Response(body="", status_code=302, headers={"Location": grant.switch_role_url, "Cache-Control": "no-store"})


def _ended(token: str) -> EndedAccess:
    """The grant behind a link we signed, for the page to name (nothing if its request is gone)."""
    ended = bootstrap.broker().console_link_ended(token)
    return EndedAccess(*ended) if ended else EndedAccess(None)
