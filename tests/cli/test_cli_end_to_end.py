"""A person at a terminal: request, wait while someone else approves, look at it, get an AWS CLI profile, read the
bucket in account 2 with the stock AWS CLI, revoke. Every call signed with SigV4 and checked by the local server."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tools.world import BUCKET, ROLE_NAME, TARGET_ACCOUNT

AWS = Path(sys.executable).parent / "aws"
ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
EXISTING_CONFIG = """\
# my own settings: access-broker must leave these alone
[default]
region = eu-west-1   ; inline comment

[profile s3-prod]
# a profile of the same name, written by hand earlier
region = us-east-1
role_arn = arn:aws:iam::222222222222:role/old-role
credential_source = Ec2InstanceMetadata

[profile other]
output = json
"""


def read_hello(cli, profile: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AWS), "--profile", profile, "--endpoint-url", cli.env["AWS_ENDPOINT_URL"], "s3", "cp",
                           f"s3://{BUCKET}/hello.txt", "-"], env=cli.environment("s3-access"), capture_output=True,
                          text=True, timeout=120)


def test_request_wait_approve_profile_read_with_the_aws_cli_then_revoke(cli) -> None:
    assert "s3-prod" in cli("profiles").stdout

    waiting = cli.start("request", "s3-prod", "1h", "--reason", "fixing the export job", "--wait", "--timeout", "2m")
    assert waiting.stdout is not None
    request_id = waiting.stdout.readline().strip()  # printed as soon as the request exists
    assert request_id, waiting.stderr.read() if waiting.stderr else ""
    assert request_id in cli("list", "--awaiting-me", as_="bob").stdout

    approved = cli("approve", request_id, "--comment", "go ahead", as_="bob")
    assert approved.returncode == 0, approved.stderr
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, f"--wait should end 0 once active; stderr:\n{err}"
    assert " pending " in err and " active until " in err, f"piped --wait prints a line per state:\n{err}"
    assert "\r" not in err

    shown = cli.json("show", request_id)
    assert shown["state"] == "active" and [a["by"] for a in shown["approvals"]] == ["bob"]
    assert shown["requester"] == {"id": "s3-access", "iam_user": "s3-access"}
    assert "switch role" in cli("show", request_id).stdout

    config = Path(cli.env["AWS_CONFIG_FILE"])
    config.write_text(EXISTING_CONFIG)
    written = cli.json("aws-profile", request_id)
    assert written["profile"] == "s3-prod" and written["role_session_name"] == "s3-access"
    assert written["source_profile"] == "s3-access" and 3500 < int(written["duration_seconds"]) <= 3600
    text = config.read_text()
    assert text.startswith("# my own settings: access-broker must leave these alone\n[default]\n"
                           "region = eu-west-1   ; inline comment\n")
    assert "# a profile of the same name, written by hand earlier\nregion = us-east-1\n" in text
    assert f"role_arn = {ROLE_ARN}\n" in text and "old-role" not in text and "credential_source" not in text
    assert text.endswith("[profile other]\noutput = json\n")

    read = read_hello(cli, "s3-prod")
    assert read.returncode == 0, read.stderr
    assert read.stdout == "hello from account 2\n"

    revoked = cli("revoke", request_id)
    assert revoked.returncode == 0 and f"{request_id} revoked" in revoked.stdout, revoked.stderr
    after = read_hello(cli, "s3-prod")  # the session the AWS CLI cached is cut too, not only new ones
    assert after.returncode != 0 and "(403)" in after.stderr, after.stdout + after.stderr
    assert cli("aws-profile", request_id).returncode == 1


def test_a_denied_request_ends_the_wait_with_exit_1(cli) -> None:
    waiting = cli.start("request", "s3-prod", "--reason", "just looking", "--wait", "--timeout", "2m")
    assert waiting.stdout is not None
    request_id = waiting.stdout.readline().strip()
    assert cli("deny", request_id, "--comment", "not today", as_="carol").returncode == 0
    _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 1 and "denied: not today" in err, err


def test_a_wait_that_times_out_exits_3_and_the_request_stays_pending(cli) -> None:
    done = cli("request", "s3-prod", "--reason", "in a hurry", "--wait", "--timeout", "2s", "--json")
    assert done.returncode == 3, done.stderr
    request = json.loads(done.stdout)
    assert request["state"] == "pending" and "still pending after waiting 2s" in done.stderr
    assert cli("cancel", request["id"]).returncode == 0


def test_errors_print_the_apis_detail_and_a_documented_exit_code(cli) -> None:
    missing = cli("show", "r-does-not-exist")
    assert missing.returncode == 1 and "no request with id 'r-does-not-exist'" in missing.stderr
    assert "Traceback" not in missing.stderr

    too_long = cli("request", "s3-prod", "9h", "--reason", "all night")
    assert too_long.returncode == 1 and "Traceback" not in too_long.stderr and too_long.stderr.strip()

    no_url = cli("profiles", ACCESS_BROKER_URL="")
    assert no_url.returncode == 2 and "ACCESS_BROKER_URL" in no_url.stderr

    no_reason = cli("request", "s3-prod")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr

    unreachable = cli("profiles", "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 4 and "cannot reach the API" in unreachable.stderr


def test_a_trusted_tool_requests_on_a_persons_behalf(cli) -> None:
    request = cli.json("request", "s3-prod", "1h", "--reason", "INC-42: restore the export", "--for", "alice",
                       as_="ticket-bot")

    assert request["requester"] == {"id": "alice", "iam_user": "alice"}
    assert request["requested_by_tool"] == "arn:aws:sts::111111111111:assumed-role/ticket-bot/ticket-42"
    assert request["id"] in cli("list", "--mine", as_="alice").stdout
    refused = cli("request", "s3-prod", "1h", "--reason", "me too", "--for", "alice", as_="bob")
    assert refused.returncode == 1 and "only trusted tools may request on behalf" in refused.stderr
    assert cli("cancel", request["id"], as_="alice").returncode == 0
