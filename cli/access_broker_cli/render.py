"""How requests and profiles read in a terminal (`--json` prints the API's JSON instead). Every piece of the API's
text is escaped here as it is laid out (access_broker_cli.terminal): one-line fields whole, the reason as lines."""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

from access_broker_cli.durations import human, seconds_until
from access_broker_cli.terminal import lines, one_line

Request = Dict[str, Any]
# States whose decided_by is who (or what) ended the request, not who decided it: the decision's comment, if any, is
# an approver's from before ("go ahead"), not why it ended.
ENDED_BY = ("cancelled", "timed_out", "expired", "revoked")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    shown = [list(headers), *([one_line(str(cell)) for cell in row] for row in rows)]
    widths = [max(len(line[i]) for line in shown) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in shown)


def profiles(items: List[Dict[str, Any]]) -> str:
    if not items:
        return "no profiles you may request"
    rows = [[p["name"], p["account"], p["role_arn"].rsplit("/", 1)[-1], human(p["default_duration_seconds"]),
             f"{human(p['min_duration_seconds'])}-{human(p['max_duration_seconds'])}", str(p["approvals_required"])]
            for p in items]
    return table(["PROFILE", "ACCOUNT", "ROLE", "DEFAULT", "RANGE", "APPROVALS"], rows)


def requests(items: List[Request]) -> str:
    if not items:
        return "no requests"
    rows = [[r["id"], r["state"], r["profile"], r["requester"]["id"], human(r["duration_seconds"]), _until(r),
             _short(r["reason"], 40)] for r in items]
    return table(["ID", "STATE", "PROFILE", "REQUESTER", "DURATION", "ENDS", "REASON"], rows)


def status(request: Request) -> str:
    """One line: `<id> active until 2026-11-28T14:00:00Z (59m left)`, `<id> pending (0 of 1 approvals)`..."""
    return one_line(_status(request))


def _status(request: Request) -> str:
    state = request["state"]
    if state == "pending":
        return (f"{request['id']} pending ({len(request.get('approvals') or [])} of {request['approvals_required']} "
                f"approvals)")
    if state == "active" and request.get("grant"):
        expires = request["grant"]["expires_at"]
        extension = request.get("extension")
        asked = f"; {human(extension['duration_seconds'])} more awaits approval" if extension else ""
        return f"{request['id']} active until {expires} ({human(seconds_until(expires))} left){asked}"
    if state == "failed":
        why = request.get("failure_reason")
    else:
        why = None if state in ENDED_BY else request.get("decision_comment")
    return f"{request['id']} {state}" + (f": {why}" if why else "")


def request(item: Request, console_url: str | None) -> str:
    fields = [
        ("id", item["id"]),
        ("state", _status(item).split(" ", 1)[1]),
        ("profile", f"{item['profile']} (account {item['account']}, {item['role_arn']})"),
        ("requester", f"{item['requester']['id']} (IAM user {item['requester']['iam_user']})"
         + (f", requested by {item['requested_by_tool']}" if item.get("requested_by_tool") else "")),
        ("reason", item["reason"]),
        ("duration", human(item["duration_seconds"])),
        ("approvals", f"{len(item['approvals'])} of {item['approvals_required']}"
         + "".join(f"; {a['by']} at {a['at']}" for a in item["approvals"])),
        ("created", item["created_at"]),
    ]
    if item.get("decided_by") and item["state"] in ENDED_BY:
        fields.append(("ended by", item["decided_by"]))
    elif item.get("decided_by"):
        fields.append(("decided by", item["decided_by"] + (f": {item['decision_comment']}"
                                                          if item.get("decision_comment") else "")))
    grant = item.get("grant")
    if grant:
        fields += [("role", grant["role_arn"]), ("starts", grant["starts_at"])]
        if grant.get("usable_at"):  # the broker's estimate of when IAM lets it through; older APIs do not say
            fields.append(("usable from", grant["usable_at"]))
        fields += [("expires", grant["expires_at"]), ("switch role", grant["switch_role_url"])]
        if console_url:
            fields.append(("console", console_url))
    width = max(len(name) for name, _ in fields)
    return "\n".join(f"{name.ljust(width)}  {_field(name, value, width)}" for name, value in fields)


def _field(name: str, value: str, width: int) -> str:
    """A field's value escaped: the reason may run over lines (each indented under the first), the rest is one."""
    if name != "reason":
        return one_line(value)
    return lines(value).replace("\n", "\n" + " " * (width + 2))


def _until(item: Request) -> str:
    grant = item.get("grant")
    return grant["expires_at"] if grant and item["state"] == "active" else "-"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
