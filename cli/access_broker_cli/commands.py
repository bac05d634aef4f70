"""One function per command: call the API, then say what happened as text, as JSON and as an exit code."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Dict, List
from urllib.parse import quote

from access_broker_cli import render
from access_broker_cli.api import Api
from access_broker_cli.durations import parse_seconds
from access_broker_cli.errors import NOT_ACTIVE, OK, REFUSED, NotActive, Refused, UsageError
from access_broker_cli.terminal import one_line


@dataclass
class Result:
    text: str
    json: Any
    exit_code: int = OK


def profiles(args: Any, api: Api) -> Result:
    found = api.get("/v1/profiles")
    return Result(render.profiles(found["profiles"]), found)


def request(args: Any, api: Api) -> Result:
    timeout_s = _seconds(args.timeout, "--timeout")  # a typo is said at once, with --wait or without, as for bound_s
    bound_s = _seconds(args.check_timeout, "--check-timeout")
    body: Dict[str, Any] = {"profile": args.profile, "reason": args.reason}
    if args.duration:
        body["duration"] = args.duration
    if args.requester:
        body["requester"] = args.requester
    created = api.post("/v1/requests", body)
    if not args.wait:
        return Result(one_line(str(created["id"])), created)
    from access_broker_cli.wait import wait

    if not args.json:
        print(one_line(str(created["id"])), flush=True)  # first, so a script has it even if the wait is cut short
    decided = wait(lambda: api.get(_path(created["id"])), created["id"], timeout_s, sys.stderr)
    if decided["state"] == "active" and not args.no_check:
        _usable_by_requester(api, decided, bound_s)
    return Result("", decided, _exit_code(decided))


def list_requests(args: Any, api: Api) -> Result:
    query = {"awaiting_me": "true"} if args.awaiting_me else {}
    if args.mine:
        query["mine"] = "true"
    if args.state:
        query["state"] = args.state
    found: List[Dict[str, Any]] = []
    while True:  # every page: a terminal wants the whole list
        page = api.get("/v1/requests", query)
        found += page["requests"]
        if not page.get("next"):
            break
        query["next"] = page["next"]
    return Result(render.requests(found), {"requests": found, "next": None})


def show(args: Any, api: Api) -> Result:
    found = api.get(_path(args.id))
    # The link signs in only while the grant lasts: an ended grant keeps its console_url in the API's answer.
    console = (found.get("grant") or {}).get("console_url") if found["state"] == "active" else None
    return Result(render.request(found, api.absolute(console) if console else None), found)


def approve(args: Any, api: Api) -> Result:
    return _decided(api.post(_path(args.id, "approve"), {"comment": args.comment}))


def deny(args: Any, api: Api) -> Result:
    return _decided(api.post(_path(args.id, "deny"), {"comment": args.comment}))


def cancel(args: Any, api: Api) -> Result:
    return _decided(api.post(_path(args.id, "cancel")))


def revoke(args: Any, api: Api) -> Result:
    return _decided(api.post(_path(args.id, "revoke")))


def extend(args: Any, api: Api) -> Result:
    return _decided(api.post(_path(args.id, "extend"), {"duration": args.duration}))


def console(args: Any, api: Api) -> Result:
    found = api.get(_path(args.id))
    link = (found.get("grant") or {}).get("console_url")
    if found["state"] != "active" or not link:
        raise Refused(f"request {args.id} is {found['state']}: a console link exists only while it is active", found)
    link = api.absolute(link)
    if args.open:
        import webbrowser

        if not webbrowser.open(link):
            print("access-broker: no browser to open; use the link below", file=sys.stderr)
    return Result(link, {**found, "console_url": link})


def aws_profile(args: Any, api: Api) -> Result:
    from access_broker_cli.aws_profile import write_profile

    bound_s = _seconds(args.check_timeout, "--check-timeout")
    found = api.get(_path(args.id))
    text, written = write_profile(found, args.name or found["profile"], api)
    written["usable_after_s"] = None
    if not args.no_check:  # the profile is written first: it will work once IAM has caught up, whatever happens here
        written["usable_after_s"] = round(_usable(api, written["role_arn"], written["role_session_name"], bound_s,
                                                  f"wrote profile {written['profile']}, but ", written), 1)
    return Result(text, written)


COMMANDS = {"profiles": profiles, "request": request, "list": list_requests, "show": show, "approve": approve,
            "deny": deny, "cancel": cancel, "revoke": revoke, "extend": extend, "console": console,
            "aws-profile": aws_profile}


def _decided(request: Dict[str, Any]) -> Result:
    return Result(render.status(request), request)


def _exit_code(request: Dict[str, Any]) -> int:
    if request["state"] == "active":
        return OK
    return REFUSED if request["state"] == "denied" else NOT_ACTIVE


def _usable_by_requester(api: Api, request: Dict[str, Any], bound_s: int) -> None:
    """`request --wait`: an active grant is proved with the caller's credentials when the caller is the requester
    (a trusted tool asking for someone cannot assume the role for them: it says so and leaves it)."""
    from access_broker_cli import identity

    arn = identity.caller_arn(api)
    user = identity.user_name(arn)
    requester = request["requester"]["iam_user"]
    if user != requester:
        print(one_line(f"access-broker: not checked that the grant works: it is for IAM user {requester}, and you "
                       f"sign as {arn}"), file=sys.stderr)
        return
    _usable(api, request["grant"]["role_arn"], requester, bound_s, f"request {request['id']} is active, but ", request)


def _usable(api: Api, role_arn: str, session_name: str, bound_s: int, context: str, body: Any) -> float:
    """Seconds until the caller's own credentials assumed `role_arn` (access_broker_cli.usable)."""
    from access_broker_cli.usable import assume_attempt, until_usable

    try:
        return until_usable(assume_attempt(api.session, role_arn, session_name), role_arn, session_name, bound_s,
                            sys.stderr)
    except (NotActive, Refused) as exc:
        raise type(exc)(context + exc.message, body) from None


def _seconds(text: str, option: str) -> int:
    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _path(request_id: str, action: str = "") -> str:
    return f"/v1/requests/{quote(request_id, safe='')}" + (f"/{action}" if action else "")
