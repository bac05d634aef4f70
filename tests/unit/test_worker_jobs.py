"""Sealed worker jobs and the answer URLs the worker accepts (issue 13, point 2), without the world."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.settings import SLACK_RESPONSE_URL_PREFIX, Settings
from chalicelib.slack.sealed import WINDOW, Refused, canonical, open_sealed, seal
from chalicelib.slack.worker import is_slack_response_url

KEY = b"k" * 32
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
JOB = {"kind": "act", "action": "approve", "request_id": "01jbx5v6d8k2m3n4p5q6r7s8t9", "user_id": "U01BOB",
       "note": "caf\u00e9 \u2603", "attempts": 0, "redelivery": False}


def test_a_sealed_job_opens_after_the_round_trip_lambda_makes() -> None:
    import json

    envelope = json.loads(json.dumps(seal(JOB, KEY, NOW), ensure_ascii=False))  # key order and escapes may change
    envelope["job"] = dict(reversed(list(envelope["job"].items())))
    assert open_sealed(envelope, KEY, NOW + timedelta(minutes=3)) == JOB
    assert canonical(envelope["job"]) == canonical(JOB)


@pytest.mark.parametrize("change, why", [
    (lambda e: {**e, "job": {**e["job"], "user_id": "U01CAROL"}}, "bad signature"),
    (lambda e: {**e, "issued_at": e["issued_at"] + 1}, "bad signature"),
    (lambda e: {**e, "signature": e["signature"].upper()}, "bad signature"),
    (lambda e: {**e, "signature": "\udc80"}, "bad signature"),
    (lambda e: {k: v for k, v in e.items() if k != "signature"}, "not a sealed job"),
    (lambda e: {**e, "extra": 1}, "not a sealed job"),
    (lambda e: e["job"], "not a sealed job"),
    (lambda e: [e], "not a sealed job"),
    (lambda e: {**e, "issued_at": True}, "not a sealed job"),
    (lambda e: {**e, "issued_at": str(e["issued_at"])}, "not a sealed job"),
    (lambda e: {**e, "issued_at": 10 ** 5000}, "not a sealed job"),
    (lambda e: {**e, "job": {**e["job"], "x": float("nan")}}, "not a sealed job"),
])
def test_anything_but_the_sealed_job_is_refused(change, why: str) -> None:
    with pytest.raises(Refused, match=why):
        open_sealed(change(seal(JOB, KEY, NOW)), KEY, NOW)


def test_another_key_is_refused() -> None:
    with pytest.raises(Refused, match="bad signature"):
        open_sealed(seal(JOB, b"another-key-0123456789abcdef-0123", NOW), KEY, NOW)


def test_the_window() -> None:
    envelope = seal(JOB, KEY, NOW)
    assert open_sealed(envelope, KEY, NOW + WINDOW) == JOB
    with pytest.raises(Refused, match="outside the 900 s window"):
        open_sealed(envelope, KEY, NOW + WINDOW + timedelta(seconds=1))
    assert open_sealed(envelope, KEY, NOW - timedelta(seconds=60)) == JOB, "a sender's clock a little ahead"
    with pytest.raises(Refused, match="in the future"):
        open_sealed(envelope, KEY, NOW - timedelta(seconds=61))


def test_a_refusal_names_neither_the_key_nor_the_signature() -> None:
    envelope = seal(JOB, KEY, NOW)
    with pytest.raises(Refused) as refused:
        open_sealed({**envelope, "job": {**JOB, "user_id": "U01CAROL"}}, KEY, NOW)
    assert KEY.decode() not in str(refused.value) and envelope["signature"] not in str(refused.value)


SLACK = (SLACK_RESPONSE_URL_PREFIX,)
LOCAL = (SLACK_RESPONSE_URL_PREFIX, "http://127.0.0.1:8001/response/")


@pytest.mark.parametrize("url, prefixes", [
    ("https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN", SLACK),
    ("https://hooks.slack.com/actions/T1/2/x", SLACK),
    ("http://127.0.0.1:8001/response/bob", LOCAL),
])
def test_slack_response_urls_are_accepted(url: str, prefixes: tuple[str, ...]) -> None:
    assert is_slack_response_url(url, prefixes)


@pytest.mark.parametrize("url", [
    "http://hooks.slack.com/commands/T1/2/x",  # not https
    "https://hooks.slack.com.evil.example/commands/T1/2/x",
    "https://evil.example/https://hooks.slack.com/commands",
    "https://hooks.slack.com@evil.example/commands/T1/2/x",
    "https://user@hooks.slack.com/commands/T1/2/x",
    "https://hooks.slack.com:8443/commands/T1/2/x",
    "https://hooks.slack.com\\@evil.example/x",
    "https://hooks.slack.com/commands/T1/2/x\\..\\..\\..\\api\\chat.postMessage",  # a backslash read as a slash
    "https://hooks.slack.com/\nHost: evil.example",
    "https://hooks.slack.com/ x",
    "https://hooks.slack.com/",  # the prefix itself is no response URL
    "https://[hooks.slack.com/x",
    "http://127.0.0.1:8001/response/bob",  # the local stub: only when the local stage names it
    "http://127.0.0.1:8001/api/chat.postMessage",
    "http://127.0.0.1:8002/response/bob",
    "http://127.0.0.1:8001/response/../api/chat.postMessage",
    "",
    None,
    ["https://hooks.slack.com/commands/T1/2/x"],
])
def test_anything_else_is_not(url: object) -> None:
    prefixes = SLACK if url == "http://127.0.0.1:8001/response/bob" else LOCAL
    assert not is_slack_response_url(url, prefixes)


def settings(**env: str) -> Settings:
    return Settings.from_env({"ACCESS_BROKER_STAGE": "local", **env})


def test_only_the_local_stage_adds_the_stub_s_response_urls() -> None:
    stub = "http://127.0.0.1:8001/response/"
    assert settings().response_url_prefixes == SLACK
    assert settings(SLACK_LOCAL_RESPONSE_URL_PREFIX=stub).response_url_prefixes == (SLACK_RESPONSE_URL_PREFIX, stub)
    for elsewhere in ({"ACCESS_BROKER_STAGE": "prod"}, {"AWS_LAMBDA_FUNCTION_NAME": "access-broker-local-worker"}):
        assert settings(SLACK_LOCAL_RESPONSE_URL_PREFIX=stub, **elsewhere).response_url_prefixes == SLACK


@pytest.mark.parametrize("prefix", ["https://evil.example/", "http://10.0.0.8:8001/response/", "http://127.0.0.1:8001/",
                                    "http://127.0.0.1:8001", "http://127.0.0.1:8001/response", "*",
                                    "http://evil@127.0.0.1:8001/response/", "http://127.0.0.1.evil.example/r/",
                                    "http://[::1/response/"])
def test_the_local_prefix_is_a_loopback_path_or_an_error_that_says_so(prefix: str) -> None:
    with pytest.raises(ValueError, match="SLACK_LOCAL_RESPONSE_URL_PREFIX=.*loopback http URL"):
        settings(SLACK_LOCAL_RESPONSE_URL_PREFIX=prefix)


def test_make_package_refuses_a_template_that_lets_others_invoke_the_worker() -> None:
    from tools.package import worker_invokers

    chalice_sam = {"Resources": {
        "Worker": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "access-broker-prod-worker"}},
        "APIHandlerInvokePermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": "APIHandler"}, "Principal": "apigateway.amazonaws.com"}}}}
    chalice_tf = [{"resource": {"aws_lambda_permission": {"rest_api_invoke": {
        "function_name": "${aws_lambda_function.api_handler.arn}", "principal": "apigateway.amazonaws.com"}}}}]
    assert worker_invokers("prod", chalice_sam, chalice_tf) == []

    public = {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": {"Fn::GetAtt": ["Worker", "Arn"]}, "Principal": "*", "Action": "lambda:InvokeFunction"}}
    by_name = {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": "access-broker-prod-worker", "Principal": "222222222222"}}
    url = {"Type": "AWS::Lambda::Url", "Properties": {"TargetFunctionArn": {"Ref": "Worker"}, "AuthType": "NONE"}}
    sam = {"Resources": {**chalice_sam["Resources"], "Open": public, "ByName": by_name, "Url": url}}
    tf = [{"resource": {"aws_lambda_permission": {"open": {"function_name": "${aws_lambda_function.worker.arn}",
                                                          "principal": "*"}},
                        "aws_lambda_function_url": {"url": {"function_name": "access-broker-prod-worker"}}}}]
    assert worker_invokers("prod", sam, tf) == [
        "Open (AWS::Lambda::Permission) lets others invoke the worker",
        "ByName (AWS::Lambda::Permission) lets others invoke the worker",
        "Url (AWS::Lambda::Url) lets others invoke the worker",
        "aws_lambda_permission.open lets others invoke the worker",
        "aws_lambda_function_url.url lets others invoke the worker"]
