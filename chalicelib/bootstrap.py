"""The one place that wires adapters into the Broker. Built on first use, once per process (a Lambda container)."""
from __future__ import annotations

import threading

from chalicelib.aws import clients
from chalicelib.aws.iam_grants import IamGrants
from chalicelib.aws.links import ConsoleTokens
from chalicelib.aws.secrets import ParameterStore, SecretUnavailable
from chalicelib.aws.session_guard import IamSessionGuard
from chalicelib.catalog import load_catalog
from chalicelib.service import Broker
from chalicelib.sessions import SessionGuards
from chalicelib.settings import Settings
from chalicelib.store import models
from chalicelib.store.locks import Leases
from chalicelib.store.repository import Repository

_lock = threading.RLock()  # building the broker builds the settings inside
_built: dict[str, object] = {}


def settings() -> Settings:
    return _once("settings", Settings.from_env)


def broker() -> Broker:
    return _once("broker", _build_broker)


def deferred():  # type: ignore[no-untyped-def]
    """Where slow work goes after the answer (chalicelib/slack/deferred.py)."""
    from chalicelib.slack.deferred import for_settings

    return _once("deferred", lambda: for_settings(settings()))


def slack_web():  # type: ignore[no-untyped-def]
    """The Slack Web API client; imported on first use, off the answer path."""
    from chalicelib.slack.web import SlackWeb

    return _once("slack_web", lambda: SlackWeb(secret("SLACK_BOT_TOKEN"), settings().slack_api_url))


def reset() -> None:
    """Forgets everything built, so the next call reads the environment again (tests, `make run`)."""
    with _lock:
        deferred_work = _built.get("deferred")
        _built.clear()
        clients.reset()
    if hasattr(deferred_work, "close"):  # a background runner must not run old jobs against the new wiring
        deferred_work.close()


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


def _build_broker() -> Broker:
    config = settings()
    catalog = load_catalog(config.catalog_path)
    models.bind(config.table_name)
    grants = IamGrants(catalog.source_account, catalog.partition, owner=config.table_name)
    broker = Broker(catalog=catalog, repository=Repository(), grants=grants,
                    tokens=ConsoleTokens(lambda: secret("ACCESS_BROKER_CONSOLE_KEY").encode()),
                    public_url=config.public_url, notifier=_slack_notifier())
    # The guards read the broker's clock on each change, so a clock given to the broker reaches them too.
    broker.sessions = SessionGuards(catalog, IamSessionGuard(), Leases(), lambda: broker.clock())
    return broker


def _slack_notifier():  # type: ignore[no-untyped-def]
    """Slack notifications when a bot token is configured (read later, by the worker); none otherwise."""
    config = settings()
    if "SLACK_BOT_TOKEN" not in config.secrets and "SLACK_BOT_TOKEN" not in config.secret_parameters:
        return None
    from chalicelib.slack.deferred import DeferredNotifier
    from chalicelib.store.outbox import Outbox

    return DeferredNotifier(deferred(), Outbox())


def _once(name: str, build):  # type: ignore[no-untyped-def]
    found = _built.get(name)
    if found is None:
        with _lock:
            found = _built.get(name)
            if found is None:
                found = _built[name] = build()
    return found
