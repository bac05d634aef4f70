"""Each command as a person runs it, in this process, against a stub API on loopback (tests/stub_api.py) and a
stand-in for STS: what it asks the API (path, body, query), what it prints, where, and the exit code it ends with
(docs/cli.md "Exit codes")."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from access_broker_cli import aws_profile, commands, identity, usable, wait
from access_broker_cli.main import run
from tests.stub_api import active_request, stub_api

ID = "01jc0ffee0000000000000000a"
ARN = "arn:aws:iam::111111111111:user/s3-access"


def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str | None, *args: str, **env: str | None) -> int:
    """`access-broker ARGS` with made-up keys in the environment and `env` on top (None unsets)."""
    for name in [n for n in os.environ if n.startswith(("AWS_", "ACCESS_BROKER_"))]:
        monkeypatch.delenv(name)
    base: dict[str, str | None] = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "made-up",
        "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"), "ACCESS_BROKER_URL": url}
    for name, value in {**base, **env}.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    return run(list(args))


def answering(*bodies: Any, status: int = 200) -> Any:
    """Answers each call with the next body (the last one again once they run out)."""
    left = list(bodies)
    return lambda method, path, query: (status, left.pop(0) if len(left) > 1 else left[0])


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """STS says the caller is ARN, and lets them assume any role at once; the calls are listed."""
    calls: list[Any] = []
    def caller_arn(api: Any) -> str:
        calls.append("who")
        return ARN

    monkeypatch.setattr(identity, "caller_arn", caller_arn)

    def assume_attempt(session: Any, role_arn: str, session_name: str) -> Any:
        calls.append(("assume", role_arn, session_name))
        return lambda: None

    monkeypatch.setattr(usable, "assume_attempt", assume_attempt)
    return calls


def test_without_an_api_url_it_is_a_usage_error(monkeypatch, tmp_path, capsys) -> None:
    assert cli(monkeypatch, tmp_path, None, "profiles") == 2
    assert capsys.readouterr() == ("", "access-broker: no API URL: pass --url or set ACCESS_BROKER_URL (make run "
                                       "writes it to .local/env)\n")


def test_url_given_on_the_command_line_wins_over_the_environment(monkeypatch, tmp_path, capsys) -> None:
    with stub_api(answering({"profiles": []})) as api:
        assert cli(monkeypatch, tmp_path, "https://nowhere.invalid", "profiles", "--url", api.url) == 0
    assert capsys.readouterr().out == "no profiles you may request\n"


@pytest.mark.parametrize("argv, path, body", [
    (["approve", ID], f"/v1/requests/{ID}/approve", {"comment": ""}),
    (["approve", ID, "--comment", "go ahead"], f"/v1/requests/{ID}/approve", {"comment": "go ahead"}),
    (["deny", ID, "--comment", "not now"], f"/v1/requests/{ID}/deny", {"comment": "not now"}),
    (["cancel", ID], f"/v1/requests/{ID}/cancel", {}),
    (["revoke", ID], f"/v1/requests/{ID}/revoke", {}),
    (["extend", ID, "30m"], f"/v1/requests/{ID}/extend", {"duration": "30m"}),
    (["revoke", "a/b?c"], "/v1/requests/a%2Fb%3Fc/revoke", {}),
])
def test_each_decision_posts_to_its_path_and_prints_the_status(argv, path, body, monkeypatch, tmp_path,
                                                              capsys) -> None:
    answer = {**active_request(), "state": "denied", "grant": None, "decision_comment": "ok"}
    with stub_api(answering(answer)) as api:
        assert cli(monkeypatch, tmp_path, api.url, *argv) == 0
        assert cli(monkeypatch, tmp_path, api.url, *argv, "--json") == 0
    assert [(m, p) for m, p, _ in api.asked] == [("POST", path)] * 2 and api.bodies == [body] * 2
    out = capsys.readouterr().out
    assert out.startswith(f"{ID} denied: ok\n{{\n")
    assert json.loads(out.split("\n", 1)[1]) == answer


def test_show_asks_for_the_request_by_its_quoted_id(monkeypatch, tmp_path, capsys) -> None:
    with stub_api(answering(active_request())) as api:
        assert cli(monkeypatch, tmp_path, api.url, "show", "x y/z") == 0
    assert api.asked == [("GET", "/v1/requests/x%20y%2Fz", {})]
    assert f"console      {api.url}/v1/console/token\n" in capsys.readouterr().out


@pytest.mark.parametrize("argv, query", [
    (["list"], {}), (["list", "--awaiting-me"], {"awaiting_me": "true"}), (["list", "--mine"], {"mine": "true"}),
    (["list", "--state", "active", "--mine", "--awaiting-me"],
     {"awaiting_me": "true", "mine": "true", "state": "active"}),
])
def test_list_asks_with_its_filters(argv, query, monkeypatch, tmp_path, capsys) -> None:
    with stub_api(answering({"requests": [], "next": None})) as api:
        assert cli(monkeypatch, tmp_path, api.url, *argv) == 0
    assert api.asked == [("GET", "/v1/requests", query)]
    assert capsys.readouterr().out == "no requests\n"


def test_request_posts_what_was_asked_and_prints_the_id(monkeypatch, tmp_path, capsys) -> None:
    created = {**active_request(), "state": "pending", "grant": None}
    with stub_api(answering(created)) as api:
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why") == 0
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "90m", "--reason", "why", "--for", "alice",
                   "--json") == 0
    assert api.bodies == [{"profile": "s3-prod", "reason": "why"},
                          {"profile": "s3-prod", "reason": "why", "duration": "90m", "requester": "alice"}]
    assert [p for _, p, _ in api.asked] == ["/v1/requests"] * 2
    out = capsys.readouterr().out
    assert out.startswith(f"{ID}\n{{") and json.loads(out.split("\n", 1)[1]) == created
    assert out.split("\n", 1)[1] == json.dumps(created, indent=2) + "\n", "--json: two spaces, ASCII only"


@pytest.mark.parametrize("argv, says", [
    (["--timeout", "soon", "--wait"], "access-broker: --timeout: 'soon' is not a duration"),
    (["--timeout", "soon"], "access-broker: --timeout: 'soon' is not a duration"),
    (["--check-timeout", "later"], "access-broker: --check-timeout: 'later' is not a duration"),
])
def test_a_bad_duration_is_a_usage_error_before_anything_is_asked(argv, says, monkeypatch, tmp_path, capsys) -> None:
    with stub_api(answering({})) as api:
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why", *argv) == 2
    assert api.asked == [] and capsys.readouterr().err.startswith(says)


def test_aws_profile_with_a_bad_check_timeout_is_a_usage_error_before_anything_is_asked(monkeypatch, tmp_path,
                                                                                        capsys) -> None:
    with stub_api(answering({})) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--check-timeout", "later") == 2
    assert api.asked == []
    assert capsys.readouterr().err.startswith("access-broker: --check-timeout: 'later' is not a duration")


@pytest.mark.parametrize("state, code", [("active", 0), ("denied", 1), ("cancelled", 3), ("timed_out", 3),
                                         ("failed", 3), ("expired", 3), ("revoked", 3)])
def test_request_wait_exits_by_how_the_request_ended(state, code, monkeypatch, tmp_path, capsys, sts) -> None:
    created = {**active_request(), "state": "pending", "grant": None}
    decided = {**active_request(), "state": state}
    with stub_api(answering(created, decided)) as api:
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why", "--wait") == code
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why", "--wait", "--json") == code
    assert [(m, p) for m, p, _ in api.asked] == [("POST", "/v1/requests"), ("GET", f"/v1/requests/{ID}")] * 2
    out = capsys.readouterr().out
    assert out.startswith(f"{ID}\n{{"), "the id first, at once; with --json only the decided request, at the end"
    assert json.loads(out.split("\n", 1)[1]) == decided
    if state == "active":  # the requester's own credentials tried the granted role, as the requester
        assert sts == ["who", ("assume", decided["grant"]["role_arn"], "s3-access")] * 2
    else:
        assert sts == []


def test_request_wait_no_check_does_not_try_the_role(monkeypatch, tmp_path, capsys, sts) -> None:
    with stub_api(answering(active_request())) as api:
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why", "--wait",
                   "--no-check") == 0
    assert sts == [] and capsys.readouterr().out == f"{ID}\n"


def test_request_wait_for_someone_else_says_it_was_not_checked(monkeypatch, tmp_path, capsys, sts) -> None:
    for_alice = active_request(iam_user="alice")
    with stub_api(answering(for_alice)) as api:
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why", "--for", "alice",
                   "--wait") == 0
    assert sts == ["who"]
    assert capsys.readouterr().err.endswith(
        "access-broker: not checked that the grant works: it is for IAM user alice, and you sign as "
        f"{ARN}\n")


def test_request_wait_when_the_role_never_lets_the_requester_in_exits_3(monkeypatch, tmp_path, capsys, sts) -> None:
    monkeypatch.setattr(usable, "assume_attempt", lambda session, role, name: lambda: "AccessDenied: no")
    with stub_api(answering(active_request())) as api:
        code = cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why", "--wait",
                   "--check-timeout", "0", "--json")
    assert code == 3
    out, err = capsys.readouterr()
    assert json.loads(out) == active_request(), "under --json, the request as the API said it"
    assert err.endswith(f"access-broker: request {ID} is active, but your credentials still cannot assume "
                        f"{active_request()['role_arn']} as s3-access after 0s (AccessDenied: no); IAM may still be "
                        "catching up, so try again in a minute, or the role does not let you in: ask its owner\n")


def test_a_wait_that_times_out_exits_3_saying_how_to_look_again(monkeypatch, tmp_path, capsys) -> None:
    pending = {**active_request(), "state": "pending", "grant": None}
    with stub_api(answering(pending)) as api:
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why", "--wait",
                   "--timeout", "0") == 3
    assert capsys.readouterr().err.endswith(f"access-broker: {ID} is still pending after waiting 0s; see it with: "
                                            f"access-broker show {ID}\n")


def test_console_prints_the_absolute_link_and_opens_it_when_asked(monkeypatch, tmp_path, capsys) -> None:
    import webbrowser

    opened: list[str] = []
    works = True
    def open_in_browser(link: str) -> bool:
        opened.append(link)
        return works

    monkeypatch.setattr(webbrowser, "open", open_in_browser)
    with stub_api(answering(active_request())) as api:
        assert cli(monkeypatch, tmp_path, api.url, "console", ID) == 0
        assert opened == []
        assert cli(monkeypatch, tmp_path, api.url, "console", ID, "--open") == 0
        shown = capsys.readouterr()
        works = False
        assert cli(monkeypatch, tmp_path, api.url, "console", ID, "--open", "--json") == 0
    link = f"{api.url}/v1/console/token"
    assert opened == [link, link]
    assert shown.out == f"{link}\n{link}\n" and shown.err == "", "the browser opened: nothing to say"
    out, err = capsys.readouterr()
    assert json.loads(out)["console_url"] == link
    assert err == "access-broker: no browser to open; use the link below\n"


@pytest.mark.parametrize("state", ["pending", "active"])
def test_console_without_an_active_grant_is_refused_with_exit_1(state, monkeypatch, tmp_path, capsys) -> None:
    found = {**active_request(), "state": state, "grant": None}
    with stub_api(answering(found)) as api:
        assert cli(monkeypatch, tmp_path, api.url, "console", ID, "--json") == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == found, "under --json the request is printed as the API said it"
    assert err == f"access-broker: request {ID} is {state}: a console link exists only while it is active\n"


def test_an_api_refusal_prints_its_body_under_json_and_its_detail(monkeypatch, tmp_path, capsys) -> None:
    problem = {"title": "Forbidden", "status": 403, "detail": "you may not approve your own request"}
    with stub_api(answering(problem, status=403)) as api:
        assert cli(monkeypatch, tmp_path, api.url, "approve", ID, "--json") == 1
        assert cli(monkeypatch, tmp_path, api.url, "approve", ID) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == problem
    assert err == "access-broker: you may not approve your own request\n" * 2


def test_a_bug_is_one_line_unless_debugging(monkeypatch, tmp_path, capsys) -> None:
    with stub_api(answering({"unexpected": True})) as api:
        assert cli(monkeypatch, tmp_path, api.url, "profiles") == 1
        assert capsys.readouterr() == ("", "access-broker: unexpected error (KeyError: 'profiles'); run again with "
                                           "ACCESS_BROKER_DEBUG=1 to see where\n")
        with pytest.raises(KeyError):
            cli(monkeypatch, tmp_path, api.url, "profiles", ACCESS_BROKER_DEBUG="1")


def test_ctrl_c_exits_130(monkeypatch, tmp_path, capsys) -> None:
    def interrupted(args: Any, api: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setitem(commands.COMMANDS, "profiles", interrupted)
    assert cli(monkeypatch, tmp_path, "https://h.example", "profiles") == 130
    assert capsys.readouterr() == ("", "access-broker: interrupted\n")


class Clock:
    """time.monotonic stand-in: like the real one, it does not start at zero."""

    def __init__(self) -> None:
        self.now = 1000.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_wait_goes_on_through_a_network_blip_and_says_so() -> None:
    import io

    from access_broker_cli.errors import Unreachable

    clock, out, polls = Clock(), io.StringIO(), []
    answers: list[Any] = [Unreachable("cannot reach the API at https://h: timed out"), active_request()]

    def get() -> dict[str, Any]:
        polls.append(clock.now)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    decided = wait.wait(get, ID, 60, out, now=lambda: clock.now, sleep=clock.sleep)
    assert decided == active_request() and polls == [1000.0, 1001.0]
    assert out.getvalue() == (f"[0:00] {ID}: cannot reach the API at https://h: timed out; trying again\n"
                              f"[0:01] {ID} active until 2999-01-01T00:00:00Z (" + out.getvalue().split(" (", 1)[1])
    assert out.getvalue().endswith(" left)\n"), "piped: a line per change, and nothing after the last"


def test_a_wait_that_never_heard_from_the_api_ends_at_the_timeout_saying_so() -> None:
    import io

    from access_broker_cli.errors import NotActive, Unreachable

    clock, polls = Clock(), []

    def get() -> dict[str, Any]:
        polls.append(clock.now)
        raise Unreachable("down")

    with pytest.raises(NotActive) as raised:
        wait.wait(get, ID, 3, io.StringIO(), now=lambda: clock.now, sleep=clock.sleep)
    assert raised.value.message == f"{ID} is still unknown after waiting 3s; see it with: access-broker show {ID}"
    assert raised.value.body is None and polls == [1000.0, 1001.0, 1002.5, 1003.0], "the last poll at the timeout"


# aws-profile: the profile it writes

@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_profile, "seconds_until", lambda text: 3570.0)


def test_aws_profile_writes_the_profile_tries_it_and_says_how_to_use_it(monkeypatch, tmp_path, capsys, sts,
                                                                       fixed_clock) -> None:
    (tmp_path / "config").write_text("[default]\nregion = eu-west-1\n")
    with stub_api(answering(active_request(expires_at="2026-01-01T00:59:30Z"))) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID) == 0
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--name", "mine", "--no-check", "--json") == 0
    role = active_request()["role_arn"]
    assert (tmp_path / "config").read_text() == (
        "[default]\nregion = eu-west-1\n\n"
        f"[profile s3-prod]\n# access-broker: request {ID}, grant ends 2026-01-01T00:59:30Z\nrole_arn = {role}\n"
        "credential_source = Environment\nrole_session_name = s3-access\nduration_seconds = 3570\n\n"
        f"[profile mine]\n# access-broker: request {ID}, grant ends 2026-01-01T00:59:30Z\nrole_arn = {role}\n"
        "credential_source = Environment\nrole_session_name = s3-access\nduration_seconds = 3570\n")
    assert sts == ["who", ("assume", role, "s3-access"), "who"], "--no-check: asked who, not tried"
    out, err = capsys.readouterr()
    text, as_json = out.split("\n{", 1)
    assert text == (f"wrote profile s3-prod to {tmp_path / 'config'} ({role}, session s3-access, 59m left)\n"
                    "try: aws --profile s3-prod sts get-caller-identity")
    assert json.loads("{" + as_json) == {
        "profile": "mine", "config_file": str(tmp_path / "config"), "role_arn": role,
        "credential_source": "Environment", "role_session_name": "s3-access", "duration_seconds": "3570",
        "expires_at": "2026-01-01T00:59:30Z", "request": active_request(expires_at="2026-01-01T00:59:30Z"),
        "usable_after_s": None}
    assert "switch-role-for-S3 usable after" in err


def test_aws_profile_from_a_named_profile_uses_it_as_the_source(monkeypatch, tmp_path, capsys, sts,
                                                                fixed_clock) -> None:
    (tmp_path / "credentials").write_text("[me]\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\n"
                                          "aws_secret_access_key = made-up\n")
    config = tmp_path / "config"
    with stub_api(answering(active_request())) as api:
        env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": "me",
               "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
        config.write_text("[profile s3-prod]\ncredential_source = Environment\nregion = eu-west-1\n")
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--no-check", **env) == 0
        assert config.read_text() == (
            f"[profile s3-prod]\n# access-broker: request {ID}, grant ends 2999-01-01T00:00:00Z\n"
            f"region = eu-west-1\nrole_arn = {active_request()['role_arn']}\nsource_profile = me\n"
            "role_session_name = s3-access\nduration_seconds = 3570\n"), "credential_source dropped for source_profile"
        before = config.read_text()
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--name", "me", **env) == 2
    assert config.read_text() == before
    assert capsys.readouterr().err.endswith(
        "access-broker: --name 'me' is the profile your own credentials come from; choose another name\n")


@pytest.mark.parametrize("found, says", [
    ({**active_request(), "state": "pending", "grant": None},
     f"request {ID} is pending: a profile works only while the grant is active"),
    ({**active_request(), "state": "active", "grant": None},
     f"request {ID} is active: a profile works only while the grant is active"),
    (active_request(iam_user="alice"),
     f"request {ID} grants IAM user alice, and you are s3-access: run this with the requester's credentials"),
])
def test_aws_profile_writes_nothing_for_a_grant_it_cannot_use(found, says, monkeypatch, tmp_path, capsys,
                                                              sts) -> None:
    with stub_api(answering(found)) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--json") == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == found and err == f"access-broker: {says}\n"
    assert not (tmp_path / "config").exists()


def test_aws_profile_from_the_default_credentials_profile_names_it(monkeypatch, tmp_path, capsys, sts,
                                                                   fixed_clock) -> None:
    (tmp_path / "credentials").write_text("[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\n"
                                          "aws_secret_access_key = made-up\n")
    with stub_api(answering(active_request())) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--no-check", AWS_ACCESS_KEY_ID=None,
                   AWS_SECRET_ACCESS_KEY=None, AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials")) == 0
    assert "\nsource_profile = default\n" in (tmp_path / "config").read_text()


def test_aws_profile_from_the_environment_drops_an_old_source_profile(monkeypatch, tmp_path, capsys, sts,
                                                                    fixed_clock) -> None:
    """A profile holding both would make the AWS CLI refuse it: the source it does not use goes."""
    (tmp_path / "config").write_text("[profile s3-prod]\nsource_profile = me\n")
    with stub_api(answering(active_request())) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--no-check") == 0
    written = (tmp_path / "config").read_text()
    assert "credential_source = Environment\n" in written and "source_profile" not in written


def test_aws_profile_json_says_how_soon_the_profile_worked(monkeypatch, tmp_path, capsys, sts, fixed_clock) -> None:
    monkeypatch.setattr(usable, "until_usable", lambda *args, **kwargs: 4.44)
    with stub_api(answering(active_request())) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--json") == 0
    assert json.loads(capsys.readouterr().out)["usable_after_s"] == 4.4


def test_aws_profile_whose_role_never_works_exits_3_with_what_it_wrote(monkeypatch, tmp_path, capsys, sts,
                                                                      fixed_clock) -> None:
    monkeypatch.setattr(usable, "assume_attempt", lambda session, role, name: lambda: "AccessDenied: no")
    with stub_api(answering(active_request())) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--check-timeout", "0", "--json") == 3
    out, err = capsys.readouterr()
    written = json.loads(out)
    assert (written["profile"], written["config_file"], written["usable_after_s"]) == ("s3-prod",
                                                                                       str(tmp_path / "config"), None)
    assert err.endswith(f"access-broker: wrote profile s3-prod, but your credentials still cannot assume "
                        f"{active_request()['role_arn']} as s3-access after 0s (AccessDenied: no); IAM may still be "
                        "catching up, so try again in a minute, or the role does not let you in: ask its owner\n")
    assert "[profile s3-prod]" in (tmp_path / "config").read_text(), "written first: it works once IAM catches up"


@pytest.mark.parametrize("answer, says", [
    ({"expires_at": "tomorrow"}, "grant.expires_at 'tomorrow' is not an RFC 3339 time like 2026-12-02T00:06:34Z\n"),
    ({"role_arn": "switch-role-for-S3"}, "grant.role_arn 'switch-role-for-S3' is not an IAM role ARN"),
])
def test_aws_profile_refuses_an_answer_that_cannot_go_into_the_file(answer, says, monkeypatch, tmp_path, capsys,
                                                                    sts) -> None:
    found = active_request(**answer)
    with stub_api(answering(found)) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--json") == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == found and not (tmp_path / "config").exists()
    assert err.startswith(f"access-broker: the API's answer cannot go into an AWS config file: {says}")


def test_aws_profile_with_a_bad_name_is_a_usage_error(monkeypatch, tmp_path, capsys, sts) -> None:
    with stub_api(answering(active_request())) as api:
        assert cli(monkeypatch, tmp_path, api.url, "aws-profile", ID, "--name", "a b") == 2
    assert capsys.readouterr().err == ("access-broker: --name: profile name 'a b' may hold letters, digits and "
                                       "_.+@=,:- only\n")


# STS, as the CLI asks it

class FakeSts:
    def __init__(self, error: Exception | None = None, arn: str = ARN) -> None:
        self.error, self.arn, self.calls = error, arn, []

    def get_caller_identity(self) -> dict[str, str]:
        if self.error:
            raise self.error
        return {"Arn": self.arn, "Account": "111111111111"}

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"Credentials": {"SecretAccessKey": "never kept"}}


class FakeSession:
    def __init__(self, sts: FakeSts, region: str | None) -> None:
        self.sts, self.region, self.clients = sts, region, []

    def get_config_variable(self, name: str) -> str | None:
        return self.region if name == "region" else None

    def create_client(self, service: str, region_name: str) -> FakeSts:
        self.clients.append((service, region_name))
        return self.sts


class FakeApi:
    def __init__(self, session: FakeSession) -> None:
        self.session, self.asked_for_credentials = session, 0

    def credentials(self) -> None:
        self.asked_for_credentials += 1


def denied(code: str, message: str = "not authorized") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "AssumeRole")


@pytest.mark.parametrize("region, used", [("eu-west-2", "eu-west-2"), (None, "us-east-1")])
def test_who_the_caller_is_asks_sts_in_the_configured_region(region, used) -> None:
    api = FakeApi(FakeSession(FakeSts(), region))
    assert identity.caller_arn(api) == ARN
    assert api.session.clients == [("sts", used)] and api.asked_for_credentials == 1


def test_when_sts_cannot_say_who_the_caller_is() -> None:
    from access_broker_cli.errors import Refused, Unreachable

    with pytest.raises(Refused) as refused:
        identity.caller_arn(FakeApi(FakeSession(FakeSts(denied("InvalidClientTokenId", "bad key")), None)))
    assert refused.value.exit_code == 1 and refused.value.message.startswith(
        "AWS could not tell who you are: An error occurred (InvalidClientTokenId)")
    with pytest.raises(Unreachable) as unreachable:
        identity.caller_arn(FakeApi(FakeSession(FakeSts(EndpointConnectionError(endpoint_url="https://sts")), None)))
    assert unreachable.value.exit_code == 4 and unreachable.value.message == (
        'AWS could not tell who you are: Could not connect to the endpoint URL: "https://sts"')


@pytest.mark.parametrize("arn, says", [
    ("arn:aws:sts::111111111111:assumed-role/ticket-bot/s", "aws-profile needs an IAM user's credentials; you are "
     "arn:aws:sts::111111111111:assumed-role/ticket-bot/s, and the role trusts only IAM users switching in under "
     "their own name"),
    ("arn:aws:iam::111111111111:user/a b", "the IAM user name STS gave 'a b' is not an IAM user name"),
])
def test_only_an_iam_user_can_have_a_profile(arn, says) -> None:
    from access_broker_cli.errors import Refused

    with pytest.raises(Refused) as refused:
        identity.caller_user_name(FakeApi(FakeSession(FakeSts(arn=arn), None)))
    assert refused.value.message.startswith(says)


def test_assume_attempt_tries_the_role_as_the_session_name_for_the_shortest_session() -> None:
    sts = FakeSts()
    session = FakeSession(sts, "eu-west-2")
    attempt = usable.assume_attempt(session, "arn:aws:iam::2:role/r", "s3-access")
    assert session.clients == [("sts", "eu-west-2")] and sts.calls == []
    assert attempt() is None and attempt() is None
    assert sts.calls == [{"RoleArn": "arn:aws:iam::2:role/r", "RoleSessionName": "s3-access",
                          "DurationSeconds": 900}] * 2
    session = FakeSession(FakeSts(), None)
    usable.assume_attempt(session, "arn:aws:iam::2:role/r", "s3-access")
    assert session.clients == [("sts", "us-east-1")]


@pytest.mark.parametrize("code", usable.NOT_YET)
def test_a_refusal_iam_may_lift_is_returned_to_try_again(code) -> None:
    attempt = usable.assume_attempt(FakeSession(FakeSts(denied(code, "wait")), None), "arn:aws:iam::2:role/r", "me")
    assert attempt() == f"{code}: wait"


def test_sts_out_of_reach_is_tried_again_too() -> None:
    error = EndpointConnectionError(endpoint_url="https://sts")
    attempt = usable.assume_attempt(FakeSession(FakeSts(error), None), "arn:aws:iam::2:role/r", "me")
    assert attempt() == 'STS could not be reached: Could not connect to the endpoint URL: "https://sts"'


def test_any_other_refusal_ends_at_once() -> None:
    from access_broker_cli.errors import Refused

    attempt = usable.assume_attempt(FakeSession(FakeSts(denied("ValidationError", "bad name")), None),
                                    "arn:aws:iam::2:role/r", "me")
    with pytest.raises(Refused) as refused:
        attempt()
    assert refused.value.message == ("STS refused to let me assume arn:aws:iam::2:role/r, and waiting will not help: "
                                     "ValidationError: bad name")


class Terminal:
    """A terminal's standard error: what was written, in order."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_until_usable_on_a_terminal_ticks_each_second_naming_the_role_and_stss_code() -> None:
    clock, out, naps = Clock(), Terminal(), []
    answers = iter(["AccessDenied: User: arn:aws:iam::1:user/s3-access is not authorized"] * 4 + [None])

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock.sleep(seconds)

    took = usable.until_usable(lambda: next(answers), "arn:aws:iam::2:role/team/switch-role", "s3-access", 120,
                               out, now=lambda: clock.now, sleep=sleep)
    assert took == pytest.approx(3.875)
    assert max(naps) <= 1.0, "the progress line is rewritten at least each second"
    lines = "".join(out.written).split("\r\x1b[K")[1:]
    assert lines[0] == ("switch-role not usable yet: STS refuses s3-access (AccessDenied); trying again, "
                        "waited 0:00")
    assert lines[-2].endswith("waited 0:03") and lines[-1] == "switch-role usable after 3.9 s, waited 0:03\n"


def test_the_console_script_exits_with_the_commands_code(monkeypatch, tmp_path, capsys) -> None:
    from access_broker_cli.main import main

    with stub_api(answering({"profiles": []})) as api:
        assert cli(monkeypatch, tmp_path, api.url, "profiles") == 0  # the environment run() had
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(["profiles"])
    assert exited.value.code == 0 and capsys.readouterr().out == "no profiles you may request\n"
    monkeypatch.delenv("ACCESS_BROKER_URL")
    with pytest.raises(SystemExit) as exited:
        main(["profiles"])
    assert exited.value.code == 2


def test_the_wait_on_a_terminal_counts_the_time_waited_from_its_start() -> None:
    clock, out = Clock(), Terminal()
    pending = {**active_request(), "state": "pending", "grant": None, "approvals": []}
    answers = iter([pending, pending, active_request()])

    wait.wait(lambda: next(answers), ID, 60, out, now=lambda: clock.now, sleep=clock.sleep)
    shown = [line.rsplit(", waited ", 1)[1] for line in "".join(out.written).split("\r\x1b[K")[1:]]
    assert shown == ["0:00", "0:01", "0:01", "0:02", "0:02", "0:02\n"], "each second of sleep, and each answer"


def test_request_wait_hands_over_the_id_before_it_waits(monkeypatch, tmp_path) -> None:
    """Piped into a script, the id is flushed at once: the script has it even if the wait is cut short."""
    import sys

    class Piped:
        def __init__(self) -> None:
            self.buffered, self.flushed = "", ""

        def write(self, text: str) -> int:
            self.buffered += text
            return len(text)

        def flush(self) -> None:
            self.flushed, self.buffered = self.flushed + self.buffered, ""

    out, flushed_when_asked = Piped(), []

    def answer(method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if method == "GET":
            flushed_when_asked.append(out.flushed)
        return 200, active_request()

    with stub_api(answer) as api:
        monkeypatch.setattr(sys, "stdout", out)
        assert cli(monkeypatch, tmp_path, api.url, "request", "s3-prod", "--reason", "why", "--wait",
                   "--no-check") == 0
    assert flushed_when_asked == [f"{ID}\n"]
