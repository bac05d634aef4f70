"""Frozen settings from the stage's environment. Read on first use, never at import."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from chalicelib.slack.sealed import MIN_KEY_BYTES

APP_DIR = Path(__file__).resolve().parent.parent
LOCAL_STAGE = "local"
SLACK_RESPONSE_URL_PREFIX = "https://hooks.slack.com/"  # where Slack's response_urls point; answers go nowhere else


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    catalog_path: Path
    public_url: str  # where people reach this API; prefixes console links
    in_lambda: bool
    slack_api_url: str = "https://slack.com/api/"  # the Web API; locally a stub (tools/slack_stub.py)
    function_name: str = ""  # this Lambda function's name, "" outside Lambda
    worker_function: str = ""  # the Lambda function that runs deferred work (app.py: worker)
    secrets: Mapping[str, str] = field(repr=False, default_factory=dict)  # names -> values; never logged
    secret_parameters: Mapping[str, str] = field(default_factory=dict)  # names -> SSM parameter names (deployed)
    response_url_prefixes: tuple[str, ...] = (SLACK_RESPONSE_URL_PREFIX,)  # where the worker may post answers
    pagerduty_api_url: str = "https://api.pagerduty.com"  # PagerDuty's REST API; locally a stand-in (tools/)
    local_iam_propagation: float | None = None  # LOCAL_IAM_PROPAGATION: the local world's modelled IAM delay (s)

    def has_secret(self, name: str) -> bool:
        """Whether the secret `name` is configured: its value in the environment, or an SSM parameter naming it."""
        return name in self.secrets or name in self.secret_parameters

    @property
    def local_identity_allowed(self) -> bool:
        """`X-Local-Principal` stands in for SigV4 only on a developer's machine."""
        return self.stage == LOCAL_STAGE and not self.in_lambda

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env  # looked up per call: chalice's test client swaps os.environ
        _refuse_a_short_job_key(env)
        catalog = Path(env.get("ACCESS_BROKER_CATALOG", "chalicelib/catalog/demo.yaml"))
        return cls(
            stage=env.get("ACCESS_BROKER_STAGE", "dev"),
            table_name=env.get("ACCESS_BROKER_TABLE", "access-broker-local"),
            catalog_path=catalog if catalog.is_absolute() else APP_DIR / catalog,
            public_url=env.get("ACCESS_BROKER_PUBLIC_URL", "").rstrip("/"),
            in_lambda="AWS_LAMBDA_FUNCTION_NAME" in env,
            slack_api_url=env.get("SLACK_API_URL") or "https://slack.com/api/",
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            worker_function=env.get("ACCESS_BROKER_WORKER_FUNCTION")
            or f"access-broker-{env.get('ACCESS_BROKER_STAGE', 'dev')}-worker",
            secrets={name: env[name] for name in (*SECRET_NAMES, *CATALOG_SECRET_NAMES) if env.get(name)},
            secret_parameters={name: env[f"{name}_PARAMETER"] for name in SECRET_NAMES if env.get(f"{name}_PARAMETER")},
            response_url_prefixes=(SLACK_RESPONSE_URL_PREFIX, *_local_response_urls(env)),
            pagerduty_api_url=env.get("PAGERDUTY_API_URL") or "https://api.pagerduty.com",
            local_iam_propagation=_seconds(env.get("LOCAL_IAM_PROPAGATION")),
        )


def _refuse_a_short_job_key(env: Mapping[str, str]) -> None:
    """A job key in the environment is checked at start (one in SSM on first use: chalicelib/slack/sealed.py)."""
    key = env.get("ACCESS_BROKER_JOB_KEY", "")
    if key and len(key.encode()) < MIN_KEY_BYTES:
        raise ValueError(f"ACCESS_BROKER_JOB_KEY is {len(key.encode())} bytes; it must be at least {MIN_KEY_BYTES}: "
                         f"make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` (or unset it "
                         f"and name its SSM parameter in ACCESS_BROKER_JOB_KEY_PARAMETER)")


def _local_response_urls(env: Mapping[str, str]) -> tuple[str, ...]:
    """On a developer's machine (the local stage, outside Lambda) answers may also go to the local Slack stub:
    SLACK_LOCAL_RESPONSE_URL_PREFIX, one loopback http prefix below the root, like http://127.0.0.1:8001/response/.
    Ignored in every other stage."""
    value = env.get("SLACK_LOCAL_RESPONSE_URL_PREFIX", "")
    if not value or env.get("ACCESS_BROKER_STAGE") != LOCAL_STAGE or "AWS_LAMBDA_FUNCTION_NAME" in env:
        return ()
    try:
        parts = urlsplit(value)
        loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost") and "@" not in parts.netloc
    except ValueError:  # e.g. an unclosed [ in the host
        loopback = False
    if not loopback or parts.query or parts.fragment or len(parts.path) < 2 or not parts.path.endswith("/"):
        raise ValueError(f"SLACK_LOCAL_RESPONSE_URL_PREFIX={value[:200]!r} is not a local Slack stub's response URL "
                         "prefix: give a loopback http URL with a path ending in '/', like "
                         "http://127.0.0.1:8001/response/ (or unset it)")
    return (value,)


# ACCESS_BROKER_JOB_KEY seals the jobs the broker's functions send to the worker (chalicelib/slack/sealed.py).
SECRET_NAMES = ("ACCESS_BROKER_CONSOLE_KEY", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "ACCESS_BROKER_JOB_KEY")
# Secrets whose SSM parameter the catalog names (on_call.pagerduty_token_parameter) rather than `<name>_PARAMETER`;
# the environment's value, when set, stands in for it (make run, tests): chalicelib/on_call.py.
CATALOG_SECRET_NAMES = ("PAGERDUTY_TOKEN",)


def _seconds(text: str | None) -> float | None:
    """LOCAL_IAM_PROPAGATION as `make run` and the tests set it (tools/iam_propagation.py checks it there)."""
    try:
        return max(0.0, float(text)) if text else None
    except ValueError:
        return None
