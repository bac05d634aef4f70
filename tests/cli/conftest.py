"""The CLI as a person runs it: the installed `access-broker` command, in a child process, signing with SigV4 from
an AWS credentials file, against the app served locally (tools/local_server.py) in front of the local world."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.api.served_app import serving_catalog
from tests.conftest import demo_catalog
from tools.mutation_tests import for_child_processes
from tools.world import REGION, SOURCE_ACCOUNT, Keys, aws_client, write_credentials_file

BIN = Path(sys.executable).parent
TOOL_ROLE = "ticket-bot"
TOOL_ARN = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/{TOOL_ROLE}"  # as a catalog lists a trusted tool


@dataclass
class Cli:
    """Runs `access-broker ...` as one of the credentials file's profiles (`as_`), like a person at a terminal."""
    env: dict[str, str]

    def __call__(self, *args: str, as_: str = "s3-access", **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*args), env=self.environment(as_, **env), capture_output=True, text=True,
                              timeout=120)

    def start(self, *args: str, as_: str = "s3-access") -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*args), env=self.environment(as_), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def json(self, *args: str, as_: str = "s3-access") -> Any:
        done = self(*args, "--json", as_=as_)
        assert done.returncode == 0, f"access-broker {' '.join(args)} as {as_}: {done.returncode}\n{done.stderr}"
        return json.loads(done.stdout)

    def command(self, *args: str) -> list[str]:
        installed = BIN / "access-broker"
        assert installed.exists(), f"{installed} is missing: `make install` installs the CLI (requirements-dev.txt)"
        return [str(installed), *args]

    def environment(self, as_: str, **extra: str) -> dict[str, str]:
        return {**self.env, "AWS_PROFILE": as_, **extra}


@pytest.fixture(scope="module")
def tool_keys(world) -> Keys:
    """A session of role ticket-bot in the source account: how an internal tool calls the API."""
    world.emulator.enforce_iam(False)  # the world has no administrator of the source account
    try:
        iam = aws_client(world.emulator.endpoint, "iam", account=SOURCE_ACCOUNT)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"AWS": f"arn:aws:iam::{SOURCE_ACCOUNT}:root"}}]}
        try:
            iam.create_role(RoleName=TOOL_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
        except iam.exceptions.EntityAlreadyExistsException:
            pass
        sts = aws_client(world.emulator.endpoint, "sts", account=SOURCE_ACCOUNT)
        creds = sts.assume_role(RoleArn=TOOL_ARN, RoleSessionName="ticket-42")["Credentials"]
    finally:
        world.emulator.enforce_iam(True)
    return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


@pytest.fixture(scope="module")
def served(world, tool_keys: Keys,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on chalice's local server with SigV4 checked, an empty table, and the demo catalog plus the tool."""
    catalog = demo_catalog()
    catalog["trusted_tools"] = sorted({*(catalog.get("trusted_tools") or []), TOOL_ARN})
    path = tmp_path_factory.mktemp("catalog") / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog))
    with serving_catalog(path) as url:
        yield url


@pytest.fixture
def cli(world, served: str, tool_keys: Keys, tmp_path: Path) -> Cli:
    """Profiles s3-access, alice, bob, carol and ticket-bot; an AWS config file of the test's own; a HOME of its
    own (the AWS CLI caches assumed-role credentials there)."""
    credentials = tmp_path / "credentials"
    write_credentials_file(credentials, {**world.keys, TOOL_ROLE: tool_keys})
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ACCESS_BROKER_URL": served,
           "AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_ENDPOINT_URL": world.emulator.endpoint, "AWS_DEFAULT_REGION": REGION, **for_child_processes()}
    return Cli(env)
