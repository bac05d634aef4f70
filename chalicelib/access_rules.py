"""Who may do what, and what a valid request looks like, decided from the catalog. Pure: no I/O.

Each check raises the domain error a person would want to read: what is wrong and how to fix it."""
from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.domain.catalog import Catalog, Person, Profile
from chalicelib.domain.durations import format_duration, parse_duration
from chalicelib.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, Unprocessable, quote
from chalicelib.domain.requests import AccessRequest

MAX_REASON = 1000
BREAK_GLASS_MIN_REASON = 20
# Unicode's bidirectional controls (embeddings, overrides, isolates, marks): they make a reason read differently
# in Slack or a terminal than it is stored ("Trojan Source").
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# C0 and C1 control characters and DEL, newline and tab aside: an escape sequence in a reason would run in an
# approver's terminal (erase a line, set the clipboard with OSC 52) when the CLI prints it.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MAX_COMMENT = 1000


@dataclass(frozen=True)
class Caller:
    """Who is asking: an IAM principal (API) or a Slack user, and the person the catalog maps them to."""
    principal: str
    person: Person | None
    channel: str  # api | slack | system
    unmapped_why: str = ""  # why the caller is no person just now (the directory could not be read), if that is why

    @property
    def actor(self) -> str:
        return self.person.id if self.person else self.principal


def profile_of(catalog: Catalog, name: str) -> Profile:
    profile = catalog.profiles.get(name)
    if profile is None:
        raise Conflict(f"profile {quote(name)} is no longer in the catalog; nothing can change this request")
    return profile


def person_of(caller: Caller) -> Person:
    if caller.person is None:
        if caller.unmapped_why:
            raise Forbidden(f"{caller.principal} is not a person here just now: {caller.unmapped_why}")
        raise Forbidden(f"{caller.principal} is not mapped to a person; add them under `people` in the "
                        f"catalog (iam_user or slack_user_id)")
    return caller.person


def may_see(catalog: Catalog, caller: Caller, request: AccessRequest) -> bool:
    if caller.principal in catalog.trusted_tools:
        return True
    person = caller.person
    profile = catalog.profiles.get(request.profile)  # gone from the catalog: its recorded approvers still see it
    approvers = profile.approvers if profile else {a.by for a in request.approvals}
    return person is not None and (person.id == request.requester or person.id in approvers)


def require_approver(catalog: Catalog, person: Person, request: AccessRequest) -> None:
    """Only the profile's approvers decide (the requester gets through, for the domain's own-request message)."""
    approvers = profile_of(catalog, request.profile).approvers
    if person.id != request.requester and person.id not in approvers:
        raise Forbidden(f"only approvers of profile {request.profile} may decide: {', '.join(sorted(approvers))}")


def requester_of(catalog: Catalog, caller: Caller, requester: str | None) -> Person:
    """The person asking: the caller, or, for trusted tools only, the person named in `requester`."""
    if requester is None:
        person = caller.person
        if person is None and caller.unmapped_why:
            raise Forbidden(f"{caller.principal} is not a person here just now: {caller.unmapped_why}")
        if person is None:
            raise Unprocessable(
                f"{caller.principal} is not mapped to a person; add an entry under `people` in the catalog "
                f"with its iam_user (or slack_user_id)", field="requester")
    else:
        if caller.principal not in catalog.trusted_tools:
            raise Forbidden("only trusted tools may request on behalf of someone; leave out `requester`")
        if not isinstance(requester, str) or requester not in catalog.people:
            raise Unprocessable(f"requester {quote(requester)} is not a person in the catalog", field="requester")
        person = catalog.people[requester]
    if not person.iam_user:
        raise Unprocessable(f"person {person.id!r} has no IAM user; set people.{person.id}.iam_user in the catalog",
                            field="requester")
    return person


def requestable(catalog: Catalog, person: Person, name: str | None) -> Profile:
    allowed = catalog.requestable_by(person.id)
    profile = catalog.profiles.get(name) if isinstance(name, str) else None
    if profile is None or profile not in allowed:
        names = ", ".join(p.name for p in allowed) or "none"
        raise Unprocessable(f"unknown profile {quote(name)}; profiles you may request: {names}",
                            field="profile", profiles=[p.name for p in allowed])
    return profile


def duration_for(profile: Profile, duration: str | None) -> int:
    """Seconds asked for (the profile's default when None), within the profile's range."""
    seconds = profile.default_duration if duration is None else parse_duration(duration)
    if not profile.min_duration <= seconds <= profile.max_duration:
        raise Unprocessable(f"duration {format_duration(seconds)} is outside what profile {profile.name} allows: "
                            f"{profile.allowed_range()}", field="duration")
    return seconds


def reason_of(reason: str | None) -> str:
    reason = without_bidi_controls(reason) if isinstance(reason, str) else reason
    if not isinstance(reason, str) or not reason.strip():
        raise Unprocessable("reason is required: say in a few words why you need access",
                            field="reason")
    if len(reason) > MAX_REASON:
        raise Unprocessable(f"reason is {len(reason)} characters; keep it to {MAX_REASON}", field="reason")
    _refuse_controls(reason, "reason", Unprocessable)
    return reason.strip()


def comment_of(comment: str | None) -> str:
    """An approver's comment (approve, deny): at most MAX_COMMENT characters, no control characters; "" if none."""
    comment = without_bidi_controls(comment or "")
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment is {len(comment)} characters; keep it to {MAX_COMMENT}", field="comment")
    _refuse_controls(comment, "comment", InvalidInput)
    return comment


def _refuse_controls(text: str, field: str, error: type[DomainError]) -> None:
    found = _CONTROLS.search(text)
    if found:
        raise error(f"{field} holds the control character U+{ord(found.group()):04X} at position {found.start() + 1}; "
                    f"write it as plain text (newlines and tabs are fine)", field=field)


def without_bidi_controls(text: str) -> str:
    """`text` without bidirectional control characters: what people write (reasons, comments) reads as stored."""
    return _BIDI_CONTROLS.sub("", text)


def allow_break_glass(profile: Profile, reason: str) -> None:
    if not profile.break_glass:
        raise Forbidden(f"profile {profile.name} has no break-glass access; leave out break_glass and ask for approval")
    if len(reason) < BREAK_GLASS_MIN_REASON:
        raise Unprocessable(f"break-glass needs a reason of at least {BREAK_GLASS_MIN_REASON} characters (this one "
                            f"has {len(reason)}): say what is broken and why it cannot wait for an approver",
                            field="reason")
