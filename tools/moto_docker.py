"""The world runs no Docker. moto's Lambda model opens a Docker client when asked for one; with no Docker that raises
`DockerException`, which moto's own invoke path expects (an Event invoke is then recorded, not run) but its state
dump, `/moto-api/data.json`, does not: it skips attributes raising `TypeError`, `AttributeError` or `ValueError`
only. Once any Lambda function existed the dump answered 500, and with it the local SigV4 check, which reads keys
from it (tools/local_sigv4.py). `install()` makes the missing Docker both: a `DockerException` that is also an
`AttributeError`."""
from __future__ import annotations

from typing import Any

from docker.errors import DockerException
from moto.utilities.docker_utilities import DockerModel


class NoDocker(DockerException, AttributeError):
    """No Docker here: moto's invoke handles it as DockerException, its state dump skips it as AttributeError."""


def install() -> None:
    opened = DockerModel.docker_client

    def docker_client(self: Any) -> Any:
        try:
            return opened.fget(self)
        except DockerException as exc:
            raise NoDocker(f"the local world runs no Docker: {exc}") from exc

    DockerModel.docker_client = property(docker_client)  # type: ignore[method-assign,assignment]
