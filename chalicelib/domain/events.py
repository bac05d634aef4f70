"""What happened to a request, named by the domain: every event kind the audit trail records, and who the broker is
when it acts by itself. Transitions return the kind of what they did (`Transition`, domain/requests.py); the service
records it, the notifier and the sweeper react to it. The values are what the table and the API have always stored."""
from __future__ import annotations

import enum

SYSTEM = "access-broker"  # the actor of what the broker does by itself (timeouts, expiry, sweeps, repairs)


class EventKind(enum.StrEnum):
    # a request's life
    CREATED = "created"
    BREAK_GLASS_ACTIVATED = "break_glass_activated"  # created active, without approval: flagged for review
    APPROVAL_ADDED = "approval_added"  # an approval, more still needed
    APPROVED = "approved"  # the last approval needed: the grant is being applied
    AUTO_APPROVED = "auto_approved"  # approved by no human: the requester is on call (domain/on_call.py)
    AUTO_APPROVE_SKIPPED = "auto_approve_skipped"  # on-call auto-approval did not apply; people decide (why: details)
    ACTIVATED = "activated"
    DENIED = "denied"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    EXPIRED = "expired"
    REVOKED = "revoked"
    FAILED = "failed"
    # the sweeper's once-only nudges
    REMINDER_SENT = "reminder_sent"
    EXPIRY_WARNING = "expiry_warning"
    # extensions: a new approval round on an active grant
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_APPROVAL_ADDED = "extension_approval_added"
    EXTENDED = "extended"
    EXTENSION_DENIED = "extension_denied"
    # open sessions (domain/session_guard.py)
    SESSION_GUARD_PENDING = "session_guard_pending"
    SESSION_GUARD_CAUGHT_UP = "session_guard_caught_up"
    SESSION_GUARD_FAILED = "session_guard_failed"
    SESSION_GUARD_WHOLE_ROLE = "session_guard_whole_role"
    SESSION_CUT_LAPSED = "session_cut_lapsed"
    # what the broker notes beside a state change
    DRIFT_REPAIRED = "drift_repaired"
    CLEANUP_PENDING = "cleanup_pending"
    NOTIFY_FAILED = "notify_failed"
    SLACK_POSTED = "slack_posted"


# The requester hears of each of these: the request (or its grant) is over.
ENDINGS = frozenset({EventKind.DENIED, EventKind.TIMED_OUT, EventKind.EXPIRED, EventKind.REVOKED, EventKind.FAILED})

