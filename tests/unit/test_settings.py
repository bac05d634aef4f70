"""The settings an operator gives through the environment, and the defaults of what they leave out: each variable's
name is the interface of `make run`, the packaged template and the docs. (Mutants of chalicelib/settings.py that
no test noticed.)"""
from __future__ import annotations

import pytest

from chalicelib.settings import APP_DIR, SLACK_RESPONSE_URL_PREFIX, Settings

pytestmark = pytest.mark.unit

STUB = "http://127.0.0.1:8001/response/"


def test_the_defaults_of_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(
        stage="dev", table_name="access-broker-local", catalog_path=APP_DIR / "chalicelib/catalog/demo.yaml",
        public_url="", in_lambda=False, slack_api_url="https://slack.com/api/", function_name="",
        worker_function="access-broker-dev-worker", secrets={}, secret_parameters={},
        response_url_prefixes=(SLACK_RESPONSE_URL_PREFIX,), pagerduty_api_url="https://api.pagerduty.com",
        local_iam_propagation=None)
    assert settings.catalog_path.is_file()


def test_each_variable_sets_its_setting() -> None:
    settings = Settings.from_env({
        "ACCESS_BROKER_STAGE": "prod", "ACCESS_BROKER_TABLE": "access-broker-prod",
        "ACCESS_BROKER_CATALOG": "/etc/catalog.yaml", "ACCESS_BROKER_PUBLIC_URL": "https://broker.example.com//",
        "AWS_LAMBDA_FUNCTION_NAME": "access-broker-prod", "SLACK_API_URL": "http://127.0.0.1:8001/api/",
        "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET_PARAMETER": "/access-broker/signing",
        "PAGERDUTY_TOKEN": "pd-token", "LOCAL_IAM_PROPAGATION": "2.5"})
    assert (settings.stage, settings.table_name, str(settings.catalog_path), settings.public_url) == (
        "prod", "access-broker-prod", "/etc/catalog.yaml", "https://broker.example.com")
    assert settings.in_lambda and settings.function_name == "access-broker-prod"
    assert settings.slack_api_url == "http://127.0.0.1:8001/api/"
    assert settings.worker_function == "access-broker-prod-worker"
    assert dict(settings.secrets) == {"SLACK_BOT_TOKEN": "xoxb-1", "PAGERDUTY_TOKEN": "pd-token"}
    assert dict(settings.secret_parameters) == {"SLACK_SIGNING_SECRET": "/access-broker/signing"}
    assert settings.local_iam_propagation == 2.5
    assert Settings.from_env({"ACCESS_BROKER_CATALOG": "targets/x.yaml"}).catalog_path == APP_DIR / "targets/x.yaml"
    assert Settings.from_env({"LOCAL_IAM_PROPAGATION": "0"}).local_iam_propagation == 0.0
    assert Settings.from_env({"LOCAL_IAM_PROPAGATION": "-1"}).local_iam_propagation == 0.0


def test_only_trailing_slashes_leave_the_public_url() -> None:
    """The links the broker sends (Slack, the console) start with it: a path ending in a letter stays whole."""
    assert Settings.from_env({"ACCESS_BROKER_PUBLIC_URL": "https://broker.example.com/BOX/"}).public_url == \
        "https://broker.example.com/BOX"


def test_a_secret_is_configured_by_its_value_or_by_its_parameter() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET_PARAMETER": "/p/signing"})
    assert settings.has_secret("SLACK_BOT_TOKEN")
    assert settings.has_secret("SLACK_SIGNING_SECRET")
    assert not settings.has_secret("ACCESS_BROKER_CONSOLE_KEY")


def local(prefix: str) -> Settings:
    return Settings.from_env({"ACCESS_BROKER_STAGE": "local", "SLACK_LOCAL_RESPONSE_URL_PREFIX": prefix})


@pytest.mark.parametrize("prefix", [STUB, "http://localhost:8001/response/", "http://127.0.0.1:8001/r/"])
def test_a_local_stub_may_receive_answers(prefix: str) -> None:
    assert local(prefix).response_url_prefixes == (SLACK_RESPONSE_URL_PREFIX, prefix)


@pytest.mark.parametrize("prefix", [
    "http://127.0.0.1:8001/", "http://127.0.0.1:8001/response/?x=1", "http://127.0.0.1:8001/response/#top",
    "http://127.0.0.1:8001/response", "https://127.0.0.1:8001/response/", "http://example.com/response/",
    "http://user@127.0.0.1:8001/response/", "http://[::1/response/"])
def test_anything_but_a_loopback_prefix_below_the_root_is_refused_at_start(prefix: str) -> None:
    with pytest.raises(ValueError) as caught:
        local(prefix)
    assert str(caught.value) == (
        f"SLACK_LOCAL_RESPONSE_URL_PREFIX={prefix!r} is not a local Slack stub's response URL prefix: give a loopback "
        "http URL with a path ending in '/', like http://127.0.0.1:8001/response/ (or unset it)")


def test_a_refused_prefix_is_quoted_at_most_200_characters() -> None:
    prefix = "http://example.com/" + "x" * 300
    with pytest.raises(ValueError) as caught:
        local(prefix)
    assert f"={prefix[:200]!r} is not" in str(caught.value)


def test_outside_the_local_stage_or_in_lambda_the_stub_prefix_is_ignored() -> None:
    for env in ({"ACCESS_BROKER_STAGE": "dev"}, {"ACCESS_BROKER_STAGE": "local", "AWS_LAMBDA_FUNCTION_NAME": "f"}):
        settings = Settings.from_env({**env, "SLACK_LOCAL_RESPONSE_URL_PREFIX": "not even a URL"})
        assert settings.response_url_prefixes == (SLACK_RESPONSE_URL_PREFIX,)
