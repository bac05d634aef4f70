"""Open sessions: the session guard of each switch role, changed one role at a time.

Each change reads the role's MaxSessionDuration and the guard policy, lets the domain change it
(domain/session_guard.py), prunes what can no longer match a live session of the role (sessions last up to its
MaxSessionDuration), fits it into IAM's budget (or folds it into the whole-role cut) and writes it back, all while
holding the role's lease in the table: IAM offers no condition on a policy document, so concurrent grants and
revokes on one role would otherwise lose each other's statements."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from chalicelib.aws.session_guard import GuardTarget, GuardUnavailable, IamSessionGuard, PolicyTooLarge
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.session_guard import POLICY_NAME, Guard, written_by_broker
from chalicelib.ports import Change, GuardPending, Lease, RoleAudit, Written
from chalicelib.store.locks import Busy


class SessionGuards:
    """The SessionGuard port (chalicelib/ports.py) on IAM, one role's lease at a time."""

    def __init__(self, catalog: Catalog, iam: IamSessionGuard, leases: Lease, clock: Callable[[], datetime]) -> None:
        self.catalog, self.iam, self.leases, self.clock = catalog, iam, leases, clock

    def target(self, account: str, role_arn: str) -> GuardTarget:
        guard_role = self.catalog.guard_role(account)
        return GuardTarget(account, role_arn.rsplit("/", 1)[-1], guard_role.arn, guard_role.external_id)

    def read(self, account: str, role_arn: str) -> Guard:
        try:
            return Guard.from_policy(self.iam.read(self.target(account, role_arn)))
        except GuardUnavailable as exc:
            raise GuardPending(str(exc)) from None

    def prune(self, account: str, role_arn: str) -> Written:
        """Drops the role's cuts that can no longer match a live session, though nothing else changes (for the sweeper,
        so that a role nobody is granted for a while is not left holding old statements). GuardPending when it
        cannot now."""
        return self.change(account, role_arn, lambda guard, _now: guard)

    def audit(self, account: str, role_arn: str) -> RoleAudit:
        """The role's inline policies the broker did not write, whether its guard holds anything it did not write, and
        its MaxSessionDuration (drift repair). GuardPending when the target account cannot be read now."""
        target = self.target(account, role_arn)
        try:
            names = self.iam.inline_policies(target)
            document = self.iam.read(target) if POLICY_NAME in names else None
            max_session = self.iam.max_session(target)
        except GuardUnavailable as exc:
            raise GuardPending(str(exc)) from None
        return RoleAudit(tuple(sorted(n for n in names if n != POLICY_NAME)), not written_by_broker(document),
                         max_session)

    def change(self, account: str, role_arn: str, change: Change) -> Written:
        """Applies `change` to the role's guard under its lease; raises GuardPending when it cannot now."""
        target = self.target(account, role_arn)
        try:
            with self.leases.held(f"guard#{role_arn}"):
                max_session = self.iam.max_session(target)  # a role allowing longer sessions keeps its cuts longer
                document = self.iam.read(target)
                before = Guard.from_policy(document)
                now = self.clock()
                after = change(before, now).pruned(now, max_session)
                fitted = after.fitted(now)
                if fitted.policy() == document:
                    return Written(fitted, whole_role=False, changed=False, max_session=max_session)
                try:
                    self.iam.write(target, fitted.policy())
                except PolicyTooLarge:  # the role's other inline policies left less room than BUDGET assumes
                    fitted = after.folded_now(now)
                    self.iam.write(target, fitted.policy())
                return Written(fitted, whole_role=fitted.folded, changed=True, max_session=max_session)
        except (GuardUnavailable, PolicyTooLarge, Busy) as exc:
            raise GuardPending(str(exc)) from None
