"""The words people read in Slack: mentions, times, and the ephemeral answers. Pure strings, no slack_sdk,
so the answer path stays light."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone

from chalicelib.domain.catalog import Catalog
from chalicelib.domain.durations import format_duration
from chalicelib.domain.events import SYSTEM
from chalicelib.domain.requests import ON_CALL, AccessRequest, Approval, State

COMMAND = "/request-access"
HELP = f"""*access-broker*: time-boxed, approved access to AWS accounts.
• `{COMMAND} <profile> [duration] <reason>`: ask for access, e.g. `{COMMAND} s3-prod 2h fixing the export`. \
Durations like `90m`, `2h`, `2 hours`, `1h 30m`, `PT2H`; leave it out for the profile's default.
• `{COMMAND}` alone: a form to fill in.
• `{COMMAND} list`: your requests and grants.
• `{COMMAND} revoke <id>`: end a grant now.
• `{COMMAND} help`: this message."""



def escape(text: str) -> str:
    """Slack's three control characters in user-supplied text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SAID_MAX = 300  # characters of a person's reason or comment a message shows


def said(text: str) -> str:
    """What a person wrote (a reason, a comment), for a mrkdwn message: one line, at most SAID_MAX characters, inside a
    code span, so that no emphasis, emoji, mention or line break in it can pass for a line of the message's own (a
    reason that says "*Approved by* @bob" on a line of its own)."""
    line = " ".join(text.split())
    if len(line) > SAID_MAX:
        line = line[:SAID_MAX - 1] + "…"
    return "`" + escape(line.replace("`", "'")) + "`"


def mention(catalog: Catalog, person_id: str | None) -> str:
    person = catalog.people.get(person_id or "")
    if person and person.slack_user_id:
        return f"<@{person.slack_user_id}>"
    return escape(person_id or "someone")


def approver(catalog: Catalog, approval: Approval) -> str:
    """Who gave an approval: a person's mention, or for an approval by no human the on-call rota and its schedule."""
    if approval.by == ON_CALL:
        return "the on-call rota" + (f" in PagerDuty schedule {escape(approval.schedule)}" if approval.schedule else "")
    return mention(catalog, approval.by)


def utc(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def local_time(when: datetime) -> str:
    """Slack renders this in the reader's time zone; the UTC text is the fallback."""
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{utc(when)}>"


# What a request's state means to a person, said one way wherever Slack shows it (the approval message, the end of a
# request, a list, a click that came too late): (the state as a status, what became of the request as the rest of a
# sentence whose subject is the request). "{by}" is where who did it goes (" by @bob"; nothing for what the broker
# did by itself), "{already}" where "already " goes in a reply to a click that came too late.
_STATE_WORDS: dict[State, tuple[str, str]] = {
    State.PENDING: ("waiting for approval", "is still waiting for approval"),
    State.APPROVED: ("approved{by}, access being granted", "was {already}approved{by}"),
    State.ACTIVE: ("active", "was {already}approved{by}"),
    State.DENIED: ("denied{by}", "was {already}denied{by}"),
    State.CANCELLED: ("cancelled{by}", "was {already}cancelled{by}"),
    State.TIMED_OUT: ("timed out before anyone decided", "{already}timed out before anyone decided"),
    State.EXPIRED: ("expired", "{already}expired"),
    State.REVOKED: ("revoked{by}", "was {already}revoked{by}"),
    State.FAILED: ("failed", "{already}failed"),
}


def status(catalog: Catalog, request: AccessRequest) -> str:
    """The request's state as a status: "active", "denied by @bob", "timed out before anyone decided"."""
    return _STATE_WORDS[request.state][0].format(by=_by(catalog, request))


def became(catalog: Catalog, request: AccessRequest, already: bool = False) -> str:
    """What became of a request, to follow "Your request for S3 prod": "was denied by @bob", "expired", "failed"."""
    return _STATE_WORDS[request.state][1].format(by=_by(catalog, request), already="already " if already else "")


def _by(catalog: Catalog, request: AccessRequest) -> str:
    if request.decided_by in (None, SYSTEM):
        return ""
    approval = next((a for a in request.approvals if a.by == request.decided_by), None)
    return f" by {approver(catalog, approval) if approval else mention(catalog, request.decided_by)}"


def approvers(catalog: Catalog, request: AccessRequest) -> str:
    """The approvers who can still act on the open round: the profile's, less the requester and whoever approved this
    round already. "@bob or @carol" while any one of them will do, "@bob and @carol" when each one is needed."""
    names = _can_still_approve(catalog, request)
    if not names:
        return "nobody (the profile has no other approver)"
    return _joined([mention(catalog, n) for n in names], "and" if _still_needed(request) >= len(names) else "or")


def awaited(catalog: Catalog, request: AccessRequest) -> str:
    """What the open round still waits for, to follow "Waiting for": "approval from @bob or @carol", "2 approvals
    from @bob and @carol", "1 more approval from @carol", "2 approvals from any of @bob, @carol and @dave"."""
    left, names = _still_needed(request), _can_still_approve(catalog, request)
    count = ("approval" if left == 1 else f"{left} approvals") if left == request.approvals_required else \
        f"{left} more approval{'s' if left > 1 else ''}"
    if 1 < left < len(names):
        return f"{count} from any of {_joined([mention(catalog, n) for n in names], 'and')}"
    return f"{count} from {approvers(catalog, request)}"


def _round_approvals(request: AccessRequest) -> tuple[Approval, ...]:
    """The approvals of the round approvers decide now: an extension's while one is asked, else the request's."""
    return request.extension.approvals if request.extension else request.approvals


def _still_needed(request: AccessRequest) -> int:
    return max(1, request.approvals_required - len(_round_approvals(request)))


def _can_still_approve(catalog: Catalog, request: AccessRequest) -> list[str]:
    profile = catalog.profiles.get(request.profile)
    done = {a.by for a in _round_approvals(request)}
    return sorted(profile.approvers - {request.requester} - done) if profile else []


def _joined(names: list[str], conjunction: str) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def created(catalog: Catalog, request: AccessRequest) -> str:
    profile = catalog.profiles.get(request.profile)
    where = f" in <#{profile.approval_channel}>" if profile and profile.approval_channel else ""
    return (f":inbox_tray: Request `{request.id}` for *{escape(_display(catalog, request))}* (`{request.profile}`) "
            f"for *{format_duration(request.duration_seconds)}*. Waiting for {awaited(catalog, request)}{where}. "
            f"I'll message you when it is decided.")


def extension_asked(catalog: Catalog, request: AccessRequest) -> str:
    """The private answer to an Extend form: extended at once, or waiting for the approvers."""
    if request.extension is None and request.grant:
        until = local_time(request.grant.expires_at)
        return f":arrows_clockwise: Extended: request `{request.id}` now lasts until {until}."
    seconds = request.extension.seconds if request.extension else 0
    return (f":hourglass: Asked to extend request `{request.id}` by {format_duration(seconds)}; waiting for "
            f"{awaited(catalog, request)}. I'll message you when it is decided.")


def listing(catalog: Catalog, mine: Sequence[AccessRequest], waiting: Sequence[AccessRequest] = ()) -> str:
    """`list`: the person's own requests, and for approvers what waits for their decision."""
    parts = ["*Your requests, newest first:*\n" + "\n".join(f"• {summary(catalog, r)}" for r in mine) if mine else
             f"You have no requests yet. Ask with `{COMMAND} <profile> [duration] <reason>`."]
    if waiting:
        parts.append("*Waiting for your decision:*\n" + "\n".join(
            f"• {_asked(r)} from {mention(catalog, r.requester)}: {said(r.reason)}" for r in waiting))
    return "\n".join(parts)


def summary(catalog: Catalog, request: AccessRequest) -> str:
    line = f"{_asked(request)}: {status(catalog, request)}"
    if request.state == State.ACTIVE and request.grant:
        line += f" until {local_time(request.grant.expires_at)}"
    return line


def _asked(request: AccessRequest) -> str:
    return f"`{request.id}` *{request.profile}* for {format_duration(request.duration_seconds)}"


def already_decided(catalog: Catalog, request: AccessRequest) -> str:
    """What a click on a request that is no longer pending answers: nothing changed."""
    return f"Request `{request.id}` {became(catalog, request, already=True)}; nothing changed."


def unmapped(user_id: str, why: str = "") -> str:
    if why:
        return f"I can't tell who you are just now: {escape(why)}."
    return (f"I don't know who you are yet: your Slack user `{user_id}` is not in access-broker's catalog. "
            f"Ask an admin to add `slack_user_id: {user_id}` to your entry under `people` in the catalog "
            f"(the same entry that holds your `iam_user`).")


def problem(detail: str) -> str:
    return f":warning: {escape(detail)}"


# Slack's markup in our own texts: <@U123>, <#C123>, <!date^...|fallback>, <https://...|label>
_MARKUP = re.compile(r"<(?P<kind>[@#!]?)(?P<target>[^<>|]*)(?:\|(?P<label>[^<>]*))?>")


def plain(catalog: Catalog, text: str) -> str:
    """`text` for the places Slack shows as plain text (errors under a form field): mentions become `@person`,
    channels `#C123`, dates and links their fallback text, escapes their characters."""
    def readable(found: re.Match[str]) -> str:
        kind, target, label = found["kind"], found["target"], found["label"]
        if kind == "@":
            person = catalog.person_by_slack_id(target)
            return f"@{person.id if person else target}"
        if label:
            return str(label)
        return f"#{target}" if kind == "#" else target

    return _MARKUP.sub(readable, text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _display(catalog: Catalog, request: AccessRequest) -> str:
    profile = catalog.profiles.get(request.profile)
    return profile.display_name if profile else request.profile
