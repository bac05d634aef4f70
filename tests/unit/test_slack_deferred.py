"""Where deferred work runs: a background thread locally, the worker function on Lambda, inline inside it."""
from __future__ import annotations

import threading

from chalicelib.settings import Settings
from chalicelib.slack.deferred import Background, Deferred, Inline, LambdaInvoke, for_settings


def settings(**env: str) -> Settings:
    return Settings.from_env({"ACCESS_BROKER_STAGE": "prod", **env})


def runner(config: Settings) -> Deferred:
    return for_settings(config, run=lambda job: None, key=lambda: b"j" * 32)


def test_the_runner_follows_where_the_code_runs() -> None:
    assert isinstance(runner(settings()), Background)
    api = runner(settings(AWS_LAMBDA_FUNCTION_NAME="access-broker-prod"))
    assert isinstance(api, LambdaInvoke) and api.function_name == "access-broker-prod-worker"
    assert isinstance(runner(settings(AWS_LAMBDA_FUNCTION_NAME="access-broker-prod-worker")), Inline)
    named = runner(settings(AWS_LAMBDA_FUNCTION_NAME="x", ACCESS_BROKER_WORKER_FUNCTION="my-worker"))
    assert isinstance(named, LambdaInvoke) and named.function_name == "my-worker"


def test_background_runs_jobs_in_order_after_submit_returns_even_those_jobs_submit() -> None:
    ran: list[str] = []
    release = threading.Event()
    background: Background

    def run(job: dict) -> None:
        release.wait(5)
        ran.append(job["kind"])
        if job["kind"] == "first":
            background.submit({"kind": "spawned"})

    background = Background(run)
    background.submit({"kind": "first"})
    background.submit({"kind": "second"})
    assert ran == [], "submit returned before the work ran"
    release.set()
    background.drain()
    assert ran == ["first", "second", "spawned"]


def test_a_failing_job_does_not_stop_the_next() -> None:
    ran: list[int] = []

    def run(job: dict) -> None:
        if job["n"] == 1:
            raise RuntimeError("boom")
        ran.append(job["n"])

    background = Background(run)
    for n in (1, 2):
        background.submit({"n": n})
    background.drain()
    assert ran == [2]
