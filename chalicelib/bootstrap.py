"""The composition root: the one place that builds the adapters, the Broker, the deferred runner and the worker,
and wires them together. Built on first use, once per process (a Lambda container); nothing else builds them.

Tests and tools give their own clock, notifier or catalog to `broker(...)`, never by changing a built object."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast

from chalicelib.aws import clients
from chalicelib.aws.iam_grants import IamGrants
from chalicelib.aws.links import ConsoleTokens
from chalicelib.aws.secrets import ParameterStore, SecretUnavailable
from chalicelib.aws.session_guard import IamSessionGuard
from chalicelib.catalog import load_catalog
from chalicelib.domain.catalog import Catalog
from chalicelib.ports import Notifier, OnCall
from chalicelib.service.broker import Broker
from chalicelib.service.deps import Deps, SilentNotifier, utcnow
from chalicelib.sessions import SessionGuards
from chalicelib.settings import Settings
from chalicelib.store import models
from chalicelib.store.locks import Leases
from chalicelib.store.repository import Repository

if TYPE_CHECKING:  # imported where first used: the worker and the Slack client pull in slack_sdk
    from chalicelib.slack.deferred import Deferred
    from chalicelib.slack.jobs import Job
    from chalicelib.slack.web import SlackWeb
    from chalicelib.slack.worker import Worker

LOCAL_MARGIN_S = 1.0  # beyond the local world's modelled delay, where the broker estimates when a change is in force
_lock = threading.RLock()  # building the broker builds the settings inside
_built: dict[str, Any] = {}
T = TypeVar("T")


def settings() -> Settings:
    return _once("settings", Settings.from_env)


def broker(*, clock: Callable[[], datetime] | None = None, notifier: Notifier | None = None,
           catalog: Catalog | None = None) -> Broker:
    """The app's Broker. With an override (a test's clock, a recording notifier, a changed catalog) it is built anew
    with it, everywhere it is used (the session guards read the same clock), and becomes the app's Broker until the
    next reset()."""
    if clock is None and notifier is None and catalog is None:
        return _once("broker", _build_broker)
    with _lock:
        built = _built["broker"] = _build_broker(clock=clock, notifier=notifier, catalog=catalog)
    return built


def deferred() -> Deferred:
    """Where slow work goes after the answer (chalicelib/slack/deferred.py): its jobs are run by worker()."""
    from chalicelib.slack.deferred import for_settings

    return _once("deferred", lambda: for_settings(settings(), run=_run_job, key=job_key))


def worker() -> Worker:
    """Runs deferred jobs (chalicelib/slack/worker.py), against whichever Broker is the app's when a job runs."""
    def build() -> Worker:
        from chalicelib.slack.worker import Worker
        from chalicelib.store.envelopes import SpentEnvelopes
        from chalicelib.store.outbox import Outbox

        return Worker(broker, slack_web, Repository(), Outbox(), job_key, settings().response_url_prefixes,
                      SpentEnvelopes())

    return _once("worker", build)


def _run_job(job: Job) -> None:
    worker().run(job)


def job_key() -> bytes:
    """The key that seals jobs for the worker (ACCESS_BROKER_JOB_KEY): read on first use, like every secret."""
    return secret("ACCESS_BROKER_JOB_KEY").encode()


def slack_web() -> SlackWeb:
    """The Slack Web API client; imported on first use, off the answer path."""
    from chalicelib.slack.web import SlackWeb

    return _once("slack_web", lambda: SlackWeb(secret("SLACK_BOT_TOKEN"), settings().slack_api_url))


def reset() -> None:
    """Forgets everything built, so the next call reads the environment again (tests, `make run`)."""
    with _lock:
        deferred_work = _built.get("deferred")
        _built.clear()
        clients.reset()
    close = getattr(deferred_work, "close", None)
    if close is not None:  # a background runner must not run old jobs against the new wiring
        close()


def secret(name: str) -> str:
    """The secret `name` (one of settings.SECRET_NAMES). Deployed stages name an SSM parameter in `<name>_PARAMETER`
    (.chalice/config.json): read on first use, then cached for the life of the container. Locally: the environment."""
    config = settings()
    parameter = config.secret_parameters.get(name)
    if parameter:
        return _once(f"secret:{name}", lambda: _once("parameter_store", ParameterStore).get(parameter))
    value = config.secrets.get(name)
    if not value:
        raise SecretUnavailable(f"{name} is not set; put it in the environment, or name its SSM parameter in "
                                f"{name}_PARAMETER (see README, Deploy)")
    return value


def _build_broker(clock: Callable[[], datetime] | None = None, notifier: Notifier | None = None,
                  catalog: Catalog | None = None) -> Broker:
    config = settings()
    catalog = catalog or load_catalog(config.catalog_path)
    clock = clock or utcnow
    models.bind(config.table_name)
    grants = IamGrants(catalog.source_account, config.stage, catalog.partition, owner=config.table_name)
    return Broker(Deps(catalog=catalog, store=Repository(), grants=grants,
                       tokens=ConsoleTokens(lambda: secret("ACCESS_BROKER_CONSOLE_KEY").encode()),
                       public_url=config.public_url, notifier=notifier or _slack_notifier(), clock=clock,
                       sessions=SessionGuards(catalog, IamSessionGuard(), Leases(), clock),
                       on_call=_on_call(config, catalog, clock), propagation=_propagation(config, catalog),
                       **_directory(config, catalog)))


def _on_call(config: Settings, catalog: Catalog, clock: Callable[[], datetime]) -> OnCall | None:
    """PagerDuty's on-call, for profiles with auto_approve; imported only for a catalog that names it."""
    if catalog.on_call is None:
        return None
    from chalicelib.on_call import on_call_approval

    return on_call_approval(config, catalog, clock)


def _directory(config: Settings, catalog: Catalog) -> dict[str, Any]:
    """The directory's ports when the catalog takes people from it: the membership in the table, IAM's groups, and
    Slack's users and user groups (when a bot token is configured). Built cheaply: nothing is read until used."""
    if catalog.directory is None:
        return {}
    from chalicelib.aws.directory import IamDirectory
    from chalicelib.store.memberships import StoredMemberships

    ports: dict[str, Any] = {"memberships": StoredMemberships(), "iam_directory": IamDirectory()}
    if config.has_secret("SLACK_BOT_TOKEN"):
        from chalicelib.slack.directory import SlackDirectory

        ports["slack_directory"] = SlackDirectory(slack_web)
    return ports


def _propagation(config: Settings, catalog: Catalog) -> timedelta:
    """IAM's delay as the broker counts on it: the catalog's iam_propagation; in the local world, the delay it models
    (LOCAL_IAM_PROPAGATION) plus a second, so that what the broker announces holds there."""
    if config.local_iam_propagation is not None:  # 0: the model is off, and IAM is instant there
        delay = config.local_iam_propagation
        return timedelta(seconds=delay + LOCAL_MARGIN_S if delay else 0)
    return timedelta(seconds=catalog.iam_propagation)


def _slack_notifier() -> Notifier:
    """Slack notifications when a bot token is configured (read later, by the worker); none otherwise."""
    config = settings()
    if not config.has_secret("SLACK_BOT_TOKEN"):
        return SilentNotifier()
    from chalicelib.slack.deferred import DeferredNotifier
    from chalicelib.store.outbox import Outbox

    return DeferredNotifier(deferred(), Outbox())


def _once(name: str, build: Callable[[], T]) -> T:
    found = _built.get(name)
    if found is None:
        with _lock:
            found = _built.get(name)
            if found is None:
                found = _built[name] = build()
    return cast(T, found)
