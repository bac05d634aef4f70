"""Block Kit for everything access-broker posts: the approval message, the requester's DMs, the modals.

Built with slack_sdk.models, whose objects validate themselves. Every message is rendered from the
request's current state, so updating it in place always tells the truth."""
from __future__ import annotations

import json
from datetime import timezone
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from chalicelib.domain.catalog import Catalog, Profile
from chalicelib.domain.durations import format_duration
from chalicelib.domain.requests import AccessRequest, Grant, State
from chalicelib.domain.rounds import REQUEST, open_round
from chalicelib.slack.texts import approver, awaited, became, escape, local_time, mention, said, status, utc
from chalicelib.slack.texts import approvers as approvers_text

Message = tuple[str, list[Block]]  # the notification text (fallback) and the blocks


def approval_message(catalog: Catalog, request: AccessRequest, decide: bool = True) -> Message:
    """Posted to the profile's approval channel; Approve and Deny buttons while approvers have something to
    decide (the request, or later an extension of its grant). `decide` False: the same message without buttons,
    for a channel that is told rather than asked (break-glass in the security channel)."""
    who, profile = mention(catalog, request.requester), _profile_text(catalog, request)
    blocks: list[Block] = [
        SectionBlock(block_id="summary", text=MarkdownTextObject(
            text=f":key: {who} requests *{profile}* for *{format_duration(request.duration_seconds)}*")),
        SectionBlock(block_id="details", fields=[
            MarkdownTextObject(text=f"*Account*\n`{request.account}`"),
            MarkdownTextObject(text=f"*Role*\n`{request.role_arn.rsplit('/', 1)[-1]}`"),
            MarkdownTextObject(text=f"*Duration*\n{format_duration(request.duration_seconds)}"),
            MarkdownTextObject(text=f"*Request*\n`{request.id}`")]),
        SectionBlock(block_id="reason", text=MarkdownTextObject(text=f"*Reason*\n{said(request.reason)}")),
        ContextBlock(block_id="status", elements=[MarkdownTextObject(text=line)  # a context holds 10 at most
                                                  for line in _status_lines(catalog, request)[-10:]]),
    ]
    if decide and request.awaiting_decision:
        value = decision_value(request)
        blocks.append(ActionsBlock(block_id="decide", elements=[
            ButtonElement(text="Approve", action_id="approve", value=value, style="primary"),
            ButtonElement(text="Deny", action_id="deny", value=value, style="danger")]))
    text = (f"Access request from {who}: {profile} for {format_duration(request.duration_seconds)} "
            f"({status(catalog, request)})")
    return text, blocks


def security_copy(catalog: Catalog, request: AccessRequest) -> Message:
    """Break-glass use as the security channel sees it, kept true like the approval message: no buttons there."""
    return approval_message(catalog, request, decide=False)


def decision_value(request: AccessRequest) -> str:
    """What Approve and Deny carry: the request and the round they decide (slack/parse.py button_value reads it), so a
    click (or a job replayed from it) made while the request was pending never decides a later extension."""
    round_ = open_round(request)
    return request.id if round_ in (None, REQUEST) else f"{request.id}:{round_}"


def grant_message(catalog: Catalog, request: AccessRequest) -> Message:
    """The requester's DM once the grant is active: links, expiry, and Revoke / Extend while it lasts; once
    the grant has ended, the same message says so, without links or buttons."""
    grant = request.grant
    assert grant is not None, "a grant message needs a grant"
    profile = _profile_text(catalog, request)
    if request.state != State.ACTIVE:
        return f"Your access to {profile} has ended", [
            SectionBlock(block_id="granted", text=MarkdownTextObject(
                text=f":lock: Your access to *{profile}* (request `{request.id}`) has ended. "
                     f"{_open_sessions(request)}")),
            ContextBlock(block_id="status", elements=[MarkdownTextObject(text=_status_lines(catalog, request)[-1])])]
    approved = ("it is flagged for review" if request.break_glass else _on_call_approval(request) or
                "approved by " + ", ".join(approver(catalog, a) for a in request.approvals))
    kind = "break-glass access" if request.break_glass else "access"
    role = escape(request.role_arn.rsplit("/", 1)[-1])
    return f"Your access to {profile} is active until {utc(grant.expires_at)}", [
        SectionBlock(block_id="granted", text=MarkdownTextObject(
            text=f":unlock: Your {kind} to *{profile}* is active (request `{request.id}`); {approved}."
                 f"{_ready(grant)}")),
        SectionBlock(block_id="links", text=MarkdownTextObject(
            text=f"*Console:* <{grant.console_url}|Open the AWS console as {role}>"
                 f"\n*Switch-role URL:* {grant.switch_role_url}")),
        SectionBlock(block_id="expiry", text=MarkdownTextObject(
            text=f"*Expires:* {utc(grant.expires_at)} ({local_time(grant.expires_at)} your time). "
                 f"{_open_sessions(request)}")),
        ActionsBlock(block_id="grant", elements=[
            ButtonElement(text="Revoke now (I'm done)", action_id="revoke", value=request.id, style="danger"),
            *_extend_button(request, catalog.extendable(request.profile))]),
    ]


def _open_sessions(request: AccessRequest) -> str:
    """What happens to role sessions already open when the grant ends (the target account's session guard)."""
    end_by = request.sessions_end_by
    if end_by is None:
        return ""
    if request.guard_pending:
        return (f"The target account could not be reached to cut open sessions yet (retried every minute): "
                f"sessions already open may work until {utc(end_by)}.")
    if request.state == State.ACTIVE:
        return "Sessions you open end then too."
    return "Sessions opened before the end are cut too."


def ended_message(catalog: Catalog, request: AccessRequest) -> Message:
    """The requester's DM when a request ends without (or after) a grant: denied, timed out, expired, ..."""
    line = _status_lines(catalog, request)[-1]
    profile = _profile_text(catalog, request)
    text = f"Your request `{request.id}` for *{profile}*: {line}"
    if request.state in (State.DENIED, State.TIMED_OUT, State.FAILED):
        text += "\nYou can ask again with `/request-access`."
    return f"Your request for {profile} {became(catalog, request)}", [SectionBlock(text=MarkdownTextObject(text=text))]


def extension_asked(catalog: Catalog, request: AccessRequest) -> Message:
    """A nudge in the approval message's thread: the buttons above now decide an extension."""
    seconds = request.extension.seconds if request.extension else 0
    text = (f":hourglass: {mention(catalog, request.requester)} asks to extend this grant by "
            f"*{format_duration(seconds)}*: {approvers_text(catalog, request)}, please decide above.")
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]


def extension_outcome(catalog: Catalog, request: AccessRequest, extended: bool, by: str) -> Message:
    """The requester's DM when an extension is decided."""
    profile, ends = _profile_text(catalog, request), request.grant.expires_at if request.grant else None
    until = f"{utc(ends)} ({local_time(ends)} your time)" if ends else "its old end"
    text = (f":arrows_clockwise: Your access to *{profile}* (request `{request.id}`) now lasts until {until}."
            if extended else
            f":x: {mention(catalog, by)} denied extending your access to *{profile}* (request `{request.id}`); "
            f"it still ends at {until}.")
    return f"Your access to {profile}: extension {'approved' if extended else 'denied'}", [
        SectionBlock(text=MarkdownTextObject(text=text))]


def reminder_message(catalog: Catalog, request: AccessRequest) -> Message:
    """A nudge in the approval message's thread, once, when nobody has decided after `reminder_after`."""
    text = (f":bell: Reminder: {approvers_text(catalog, request)}, this request from "
            f"{mention(catalog, request.requester)} is still waiting for a decision.")
    return text, [SectionBlock(text=MarkdownTextObject(text=text))]


def expiry_warning(catalog: Catalog, request: AccessRequest, extendable: bool) -> Message:
    """The requester's DM shortly before the grant ends, with Extend (if the profile allows it)."""
    grant = request.grant
    assert grant is not None, "an expiry warning needs a grant"
    text = (f":hourglass: Your access to *{_profile_text(catalog, request)}* (request `{request.id}`) ends at "
            f"{utc(grant.expires_at)} ({local_time(grant.expires_at)} your time).")
    buttons = _extend_button(request, extendable)
    buttons.append(ButtonElement(text="Revoke now (I'm done)", action_id="revoke", value=request.id, style="danger"))
    return (f"Your access to {_profile_text(catalog, request)} ends at {utc(grant.expires_at)}",
            [SectionBlock(block_id="warning", text=MarkdownTextObject(text=text)),
             ActionsBlock(block_id="grant", elements=buttons)])


def _extend_button(request: AccessRequest, extendable: bool) -> list[ButtonElement]:
    """Extend, where the profile allows extensions (Catalog.extendable decides it, for the grant message and for the
    expiry warning alike)."""
    return [ButtonElement(text="Extend", action_id="extend", value=request.id)] if extendable else []


def request_form(profiles: list[Profile], metadata: dict[str, str]) -> View:
    options = [Option(value=p.name, text=f"{p.display_name} ({p.name})"[:75]) for p in profiles[:100]]
    return View(type="modal", callback_id="request_access", title="Request access", submit="Request",
                close="Cancel", private_metadata=json.dumps(metadata), blocks=[
                    InputBlock(block_id="profile", label="Profile",
                               element=StaticSelectElement(action_id="value", options=options,
                                                           placeholder="Choose a profile")),
                    InputBlock(block_id="duration", label="Duration", optional=True,
                               hint="Like 90m, 2h or PT2H; empty for the profile's default",
                               element=PlainTextInputElement(action_id="value", placeholder="1h")),
                    InputBlock(block_id="reason", label="Reason",
                               element=PlainTextInputElement(action_id="value", multiline=True, max_length=1000,
                                                             placeholder="What you need it for")),
                ])


def deny_form(catalog: Catalog, request: AccessRequest, metadata: dict[str, str]) -> View:
    title = "Deny extension" if request.extension else "Deny request"
    return View(type="modal", callback_id="deny", title=title, submit="Deny", close="Cancel",
                private_metadata=json.dumps(metadata), blocks=[
                    SectionBlock(text=MarkdownTextObject(text=(
                        f"Deny extending {mention(catalog, request.requester)}'s access to "
                        f"*{_profile_text(catalog, request)}* by {format_duration(request.extension.seconds)} "
                        f"(`{request.id}`)?" if request.extension else
                        f"Deny {mention(catalog, request.requester)}'s request for "
                        f"*{_profile_text(catalog, request)}* (`{request.id}`)?"))),
                    InputBlock(block_id="reason", label="Reason (the requester sees it)", optional=True,
                               element=PlainTextInputElement(action_id="value", multiline=True, max_length=1000)),
                ])


def extend_form(catalog: Catalog, request: AccessRequest, metadata: dict[str, str]) -> View:
    profile = catalog.profiles.get(request.profile)
    limit = f"; at most {format_duration(profile.max_duration)} in all" if profile else ""
    return View(type="modal", callback_id="extend", title="Extend access", submit="Extend", close="Cancel",
                private_metadata=json.dumps(metadata), blocks=[
                    InputBlock(block_id="duration", label="Extend by", hint=f"Like 30m or 1h{limit}",
                               element=PlainTextInputElement(action_id="value", placeholder="1h")),
                ])


def on_call_announcement(catalog: Catalog, request: AccessRequest) -> Message:
    """Said at once to the approval and security channels when the on-call rota approved a request: who, which
    schedule, which profile, for how long, and why they asked."""
    text = (f":rotating_light: Auto-approved: {mention(catalog, request.requester)} is on call"
            f"{_schedules(request)}, so their request for *{_profile_text(catalog, request)}* for "
            f"{format_duration(request.duration_seconds)} was approved by no human (request `{request.id}`).")
    return (f"Auto-approved (on call): {mention(catalog, request.requester)} for {_profile_text(catalog, request)}",
            [SectionBlock(block_id="on_call", text=MarkdownTextObject(text=text)),
             ContextBlock(block_id="reason", elements=[PlainTextObject(text=f"Reason: {request.reason}"[:300])])])


def _ready(grant: Grant) -> str:
    """When IAM will have applied the grant everywhere: the console and the CLI refuse it until then."""
    if grant.usable_at is None or grant.usable_at <= grant.starts_at:
        return ""
    ready = grant.usable_at.astimezone(timezone.utc)
    return f"\n:hourglass_flowing_sand: *Ready at* {ready:%H:%M:%S} UTC: AWS takes a few seconds to apply it."


def _on_call_approval(request: AccessRequest) -> str:
    return f"approved because you are on call{_schedules(request)}" if request.auto_approved else ""


def _schedules(request: AccessRequest) -> str:
    schedules = sorted({a.schedule for a in request.approvals if a.schedule})
    return f" in PagerDuty schedule {', '.join(escape(s) for s in schedules)}" if schedules else ""


def as_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def _status_lines(catalog: Catalog, request: AccessRequest) -> list[str]:
    need = request.approvals_required
    lines = [f":white_check_mark: Approved by {approver(catalog, a)} {local_time(a.at)} ({i} of {need})"
             for i, a in enumerate(request.approvals, 1)]
    if request.break_glass:
        lines.insert(0, f":rotating_light: *Break-glass*: active without approval {local_time(request.created_at)}; "
                        f"flagged for review")
    if request.state == State.PENDING:
        lines.append(f":hourglass_flowing_sand: Waiting for {awaited(catalog, request)}")
    elif request.state == State.APPROVED:
        lines.append(":gear: Approved; granting access now")
    elif request.state == State.ACTIVE and request.grant:
        lines += _active_lines(catalog, request, request.grant)
    elif request.state in _ENDED:
        lines.append(_ended_line(catalog, request))
    return lines


def _active_lines(catalog: Catalog, request: AccessRequest, grant: Grant) -> list[str]:
    lines = [f":unlock: Access active until {local_time(grant.expires_at)}"]
    extension = request.extension
    if extension:
        lines += [f":white_check_mark: Extension approved by {approver(catalog, a)} {local_time(a.at)}"
                  for a in extension.approvals]
        lines.append(f":hourglass: {mention(catalog, extension.requested_by)} asks for "
                     f"*{format_duration(extension.seconds)} more*: waiting for {awaited(catalog, request)}")
    return lines


_ENDED = (State.DENIED, State.CANCELLED, State.TIMED_OUT, State.EXPIRED, State.REVOKED, State.FAILED)


def _ended_line(catalog: Catalog, request: AccessRequest) -> str:
    """The line of a request that ended: who or what ended it, and when."""
    when = local_time(request.updated_at or request.created_at)
    by = mention(catalog, request.decided_by)
    comment = f": {said(request.decision_comment)}" if request.decision_comment else ""
    return {
        State.DENIED: f":x: Denied by {by} {when}{comment}",
        State.CANCELLED: f":no_entry_sign: Cancelled by {by} {when}",
        State.TIMED_OUT: f":alarm_clock: Timed out {when}: no approver decided in time",
        State.EXPIRED: f":checkered_flag: Access expired {when}",
        State.REVOKED: f":octagonal_sign: Access revoked by {by} {when}",
        State.FAILED: f":warning: Granting access failed {when}: {escape(request.failure_reason or 'unknown error')}; "
                      f"nothing was left attached",
    }[request.state]


def _profile_text(catalog: Catalog, request: AccessRequest) -> str:
    profile = catalog.profiles.get(request.profile)
    return escape(profile.display_name if profile else request.profile)

