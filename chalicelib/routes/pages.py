"""Small HTML pages for people who open a link in a browser (the console link from Slack), where an API client gets
problem+json. Plain HTML, no script, every value escaped; the route decides which of the two to answer."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape

from chalice import Response

from chalicelib.domain.requests import AccessRequest, Grant, State

HTML_TYPES = ("text/html", "application/xhtml+xml")
JSON_TYPES = ("application/problem+json", "application/json")
# No script, no request leaves the page; the token in the URL goes to nobody as a referrer.
HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Vary": "Accept",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                                      "form-action 'none'; frame-ancestors 'none'",
           "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
_ENDED = {State.REVOKED: "was revoked", State.EXPIRED: "expired", State.FAILED: "was ended after an error"}


def prefers_html(accept: str | None) -> bool:
    """Whether `Accept` names HTML itself (a browser's does) at least as keenly as JSON. `*/*`, a missing header
    and JSON clients get problem+json."""
    html = json = 0.0
    for entry in (accept or "").split(","):
        kind, *params = [part.strip() for part in entry.split(";")]
        weight = _weight(params)
        if kind.lower() in HTML_TYPES:
            html = max(html, weight)
        elif kind.lower() in JSON_TYPES:
            json = max(json, weight)
    return html > 0 and html >= json


def _weight(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


@dataclass(frozen=True)
class EndedAccess:
    """What the page may say about the grant behind a link: its request (None when the link was not ours, or the
    request is gone) and the profile's display name."""
    request: AccessRequest | None
    display_name: str = ""


def console_link_refused(status: int, ended: EndedAccess, now: datetime) -> Response:
    """403 (not a link we signed) or 410 (expired, or its grant ended) as a page: what happened, until when the
    access ran, and how to ask again."""
    request = ended.request
    if status == 403 or request is None:
        heading = "This console link is not valid" if status == 403 else "This console link no longer works"
        why = ("It was changed or cut short on the way, perhaps when it was copied. Open the link in "
               "access-broker's message in Slack as it is." if status == 403 else
               "The access it opened has ended.")
        return _page(status, heading, [escape(why)], _ask_again(None))
    name = escape(ended.display_name or request.profile)
    grant_end = request.grant.expires_at if request.grant else None
    if request.state == State.ACTIVE and grant_end and grant_end > now:
        heading = "This console link has expired"
        said = [f"Your access to <strong>{name}</strong> was extended: it runs until {_time(grant_end)}.",
                "Open the newest link access-broker sent you in Slack."]
    else:
        # The grant's policy stops at its end even when a sweep records the expiry later; a revoke ends it sooner
        ended_at = min((t for t in (request.ended_at, grant_end) if t), default=None)
        how = _ENDED.get(request.state, "expired" if grant_end and grant_end <= now else "ended")  # before a sweep
        heading = f"Your access to {ended.display_name or request.profile} has ended"
        said = [f"It {how}" + (f": your access ran until {_time(ended_at)}." if ended_at else ".")]
    said.append(f"Account <code>{escape(request.account)}</code>, request <code>{escape(request.id)}</code>.")
    return _page(status, heading, said, _ask_again(request.profile))


def console_getting_ready(grant: Grant, now: datetime) -> Response:
    """200 before the grant is usable: IAM is still applying it, so the console would refuse the switch now. The page
    says so and moves on to the switch-role URL by itself when it is ready (a meta refresh: no script)."""
    assert grant.usable_at is not None
    wait = max(1, math.ceil((grant.usable_at - now).total_seconds()))
    url = escape(grant.switch_role_url, quote=True)
    ready = _time(grant.usable_at, "%H:%M:%S")
    said = [f"AWS takes a few seconds to apply a new grant everywhere, so the console would refuse it just now. This "
            f"page moves on to the AWS console by itself at {ready}, in about {wait} second{'' if wait == 1 else 's'}.",
            f'If it does not, <a href="{url}">open the console</a> then.']
    return _page(200, "Your access is getting ready", said, "", refresh=(wait, grant.switch_role_url))


def _ask_again(profile: str | None) -> str:
    command = f"/request-access {profile}" if profile else "/request-access <profile>"
    cli = f"access-broker request {profile} --reason …" if profile else "access-broker request <profile> --reason …"
    return (f"To ask again, type <code>{escape(command)}</code> in Slack, or run <code>{escape(cli)}</code> in a "
            f"terminal.")


def _time(when: datetime, shown: str = "%Y-%m-%d %H:%M") -> str:
    utc = when.astimezone(timezone.utc)
    return f'<time datetime="{utc:%Y-%m-%dT%H:%M:%SZ}">{utc.strftime(shown)} UTC</time>'


def _page(status: int, heading: str, paragraphs: list[str], ask: str,
          refresh: tuple[int, str] | None = None) -> Response:
    """`heading` is text (escaped here); `paragraphs` and `ask` are HTML built from escaped values; `refresh`, the
    seconds after which the page moves on to a URL by itself."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs) + (f'\n<p class="ask">{ask}</p>' if ask else "")
    moves_on = (f'\n<meta http-equiv="refresh" content="{refresh[0]}; url={escape(refresh[1], quote=True)}">'
                if refresh else "")
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">{moves_on}
<title>{escape(heading)} · access-broker</title>
<style>
body {{ font: 18px/1.5 system-ui, sans-serif; margin: 0; background: #fff; color: #1a1a1a; }}
main {{ max-width: 36em; margin: 3em auto; padding: 0 1em; }}
h1 {{ font-size: 1.5em; line-height: 1.25; margin: 0 0 .75em; padding-left: .6em; border-left: .3em solid #b3261e; }}
code {{ background: #f0f0f0; padding: .1em .3em; border-radius: 3px; }}
.ask {{ margin-top: 1.5em; padding: .75em 1em; background: #eef4fb; border-radius: 4px; }}
</style>
</head>
<body>
<main>
<h1>{escape(heading)}</h1>
{body}
</main>
</body>
</html>
"""
    return Response(body=html, status_code=status, headers=dict(HEADERS))
