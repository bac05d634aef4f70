"""Secrets from SSM Parameter Store: SecureString parameters, or Secrets Manager secrets through SSM's
`/aws/reference/secretsmanager/<secret id>` names, so there is one call for both. Values never reach a log
or an error message: only parameter names do."""
from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import clients

SECRETS_MANAGER_REFERENCE = "/aws/reference/secretsmanager/"
_WIRE_LOGGERS = ("botocore.parsers",)  # logs whole response bodies at DEBUG, a decrypted value included
_reading = threading.local()


class _HideWhileReading(logging.Filter):
    """Drops botocore's wire logging in the thread that is reading a secret, whatever the log level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_reading, "secret", False)


_HIDE = _HideWhileReading()


class SecretUnavailable(RuntimeError):
    """A secret could not be read. The message names the parameter and the cause, never a value."""


class ParameterStore:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def ssm(self) -> Any:
        if self._client is None:  # built on first use: no client at import or cold start
            self._client = clients.client("ssm")
        return self._client

    def get(self, parameter: str) -> str:
        """The decrypted value of `parameter` (an SSM name, or a Secrets Manager reference)."""
        for name in _WIRE_LOGGERS:
            logging.getLogger(name).addFilter(_HIDE)  # a no-op after the first time
        _reading.secret = True
        try:
            value = self.ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            hint = {"ParameterNotFound": "create it (see README, Deploy: secrets)",
                    "AccessDeniedException": "the broker's policy must allow ssm:GetParameter on it"}.get(code, "")
            raise SecretUnavailable(f"cannot read secret parameter {parameter}: {code}; {hint}".rstrip("; ")) \
                from None
        except BotoCoreError as exc:
            raise SecretUnavailable(f"cannot read secret parameter {parameter}: {type(exc).__name__}") from None
        finally:
            _reading.secret = False
        if not value:
            raise SecretUnavailable(f"secret parameter {parameter} is empty")
        return str(value)
