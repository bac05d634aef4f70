"""`make run`: the local AWS world, the table, the API on 127.0.0.1:8000 and the sweeper every 15 s.

Writes .local/env and .local/aws-credentials so the stock AWS CLI works against the world.
Ctrl-C stops everything it started."""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import threading
from pathlib import Path

from tools.iam_propagation import parse_delay
from tools.world import BROKER_PROFILE, REGION, start_world, write_credentials_file
from tools.world_directory import seed_directory

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
SWEEP_EVERY_S = 15.0
# IAM's usual delay on AWS is about 2 s, 10-30 s for a new role (FACTS.md): 5 s shows the behaviour without
# making the demo slow.
DEFAULT_IAM_PROPAGATION_S = 5.0
STUB_BOT_TOKEN = "xoxb-local-stub"  # what the broker sends the local Slack stub: a placeholder, not a secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="default: ACCESS_BROKER_PORT, else 8000")
    args = parser.parse_args()
    port = args.port if args.port is not None else _port_from_environment()
    _check_port_free(port)  # before anything is written: .local/ may belong to a `make run` still serving
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("werkzeug", "pynamodb", "botocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    _catalog()  # before anything starts: an invalid catalog stops `make run` with its one-line message
    propagation = _propagation_from_environment()
    emulator, keys = start_world(propagation_s=propagation)
    stub = pagerduty = None
    try:
        keys.update(seed_directory(emulator))  # IAM groups of tagged users, for a catalog with `directory`
        slack_env, stub = _slack()
        pagerduty_env, pagerduty = _pagerduty()
        env = {**_environment(emulator.endpoint, keys[BROKER_PROFILE], port, propagation), **slack_env,
               **pagerduty_env}
        write_credentials_file(LOCAL / "aws-credentials", keys)
        _write_env(LOCAL / "env", env, LOCAL / "aws-credentials")
        os.environ.update(env)
        serve(port, propagation)
    finally:
        for started in (stub, pagerduty):
            if started:
                started.stop()
        emulator.stop()


def _port_from_environment() -> int:
    value = os.environ.get("ACCESS_BROKER_PORT", "8000")
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"make run: ACCESS_BROKER_PORT={value!r} is not a port number; give one like 8001")
    return int(value)


def _propagation_from_environment() -> float:
    """LOCAL_IAM_PROPAGATION, else the default: IAM changes take effect that many seconds late, as on AWS."""
    try:
        return parse_delay(os.environ.get("LOCAL_IAM_PROPAGATION") or str(DEFAULT_IAM_PROPAGATION_S))
    except ValueError as exc:
        raise SystemExit(f"make run: {exc}") from None


def _check_port_free(port: int) -> None:
    """Fails in one line when something already listens on 127.0.0.1:`port` (most often another `make run`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SystemExit(f"make run: port {port} on 127.0.0.1 is in use ({exc.strerror}), perhaps by another "
                             f"`make run`; stop it, or choose another port: ACCESS_BROKER_PORT={port + 1} make run"
                             ) from None


def _environment(endpoint: str, broker_keys, port: int,  # type: ignore[no-untyped-def]
                 propagation_s: float) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    return {
        "LOCAL_IAM_PROPAGATION": f"{propagation_s:g}",  # the world's delay, for the broker's estimates too
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": broker_keys.access_key_id,
        "AWS_SECRET_ACCESS_KEY": broker_keys.secret_access_key,
        "ACCESS_BROKER_URL": url,
        "ACCESS_BROKER_PUBLIC_URL": url,
        "ACCESS_BROKER_STAGE": "local",
        "ACCESS_BROKER_TABLE": "access-broker-local",
        "ACCESS_BROKER_CONSOLE_KEY": os.environ.get("ACCESS_BROKER_CONSOLE_KEY") or secrets.token_urlsafe(32),
        "ACCESS_BROKER_JOB_KEY": os.environ.get("ACCESS_BROKER_JOB_KEY") or secrets.token_urlsafe(32),
    }


def _catalog():  # type: ignore[no-untyped-def]
    from chalicelib.catalog import load_catalog
    from chalicelib.domain.errors import CatalogError

    try:
        return load_catalog(ROOT / os.environ.get("ACCESS_BROKER_CATALOG", "chalicelib/catalog/demo.yaml"))
    except CatalogError as exc:
        raise SystemExit(f"make run: {exc}") from None


def _slack():  # type: ignore[no-untyped-def]
    """SLACK_API_URL, SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET pass through when set (a token alone means the
    real Slack Web API). With neither a Web API URL nor a token, the local stub stands in: it prints what the
    broker posts, and `make slack` reads it back. Its workspace holds the directory fixture's people and user groups
    (tools/world_directory.py), so users.lookupByEmail and usergroups.users.list answer for them."""
    given = {name: os.environ[name] for name in ("SLACK_API_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
             if os.environ.get(name)}
    signing = {"SLACK_SIGNING_SECRET": given.get("SLACK_SIGNING_SECRET") or secrets.token_hex(16)}
    if "SLACK_API_URL" in given or "SLACK_BOT_TOKEN" in given:
        return {"SLACK_BOT_TOKEN": "xoxb-local", **given, **signing}, None
    from tools.slack_stub import SlackStub
    from tools.world_directory import SLACK_USERGROUPS, slack_users

    catalog = _catalog()
    workspace = slack_users()
    names = {**{u.id: u.name for u in workspace},
             **{p.slack_user_id: p.id for p in catalog.people.values() if p.slack_user_id}}
    stub = SlackStub(echo=True, names=names)
    stub.set_directory(workspace, SLACK_USERGROUPS)
    stub.start()
    return {"SLACK_API_URL": stub.api_url, "SLACK_BOT_TOKEN": STUB_BOT_TOKEN, "SLACK_STUB_URL": stub.url,
            "SLACK_LOCAL_RESPONSE_URL_PREFIX": stub.response_url(""), **signing}, stub


def _pagerduty():  # type: ignore[no-untyped-def]
    """PAGERDUTY_API_URL and PAGERDUTY_TOKEN pass through when set (a token alone means the real PagerDuty). With
    neither, a local stand-in answers, its on-call people in .local/pagerduty-oncall.json: every schedule the catalog
    names, nobody on call, until `make on-call EMAIL=...` says otherwise."""
    given = {name: os.environ[name] for name in ("PAGERDUTY_API_URL", "PAGERDUTY_TOKEN") if os.environ.get(name)}
    if given:
        return given, None
    from tools import pagerduty_stub

    schedules = sorted({s for p in _catalog().profiles.values() if p.auto_approve for s in p.auto_approve.schedules})
    pagerduty_stub.write_file(pagerduty_stub.ON_CALL_FILE, {s: [] for s in schedules})  # each run: nobody on call
    stub = pagerduty_stub.PagerDutyStub(file=pagerduty_stub.ON_CALL_FILE).start()
    return {"PAGERDUTY_API_URL": stub.url, "PAGERDUTY_TOKEN": pagerduty_stub.STUB_TOKEN}, stub


def _write_env(path: Path, env: dict[str, str], credentials: Path) -> None:
    """Shell KEY=value lines. The broker's own keys stay out: people use `credentials` (.local/aws-credentials).
    A real bot token stays out too; the stub's placeholder goes in, so that `make sweep` posts to the same stub.
    So does a real PagerDuty token; the stand-in's placeholder goes in.
    The worker's job key stays out: no tool needs it."""
    from tools.pagerduty_stub import STUB_TOKEN as PAGERDUTY_STUB_TOKEN

    shown = {k: v for k, v in env.items() if (k != "SLACK_BOT_TOKEN" or v == STUB_BOT_TOKEN)
             and (k != "PAGERDUTY_TOKEN" or v == PAGERDUTY_STUB_TOKEN)
             and k != "ACCESS_BROKER_JOB_KEY" and (
        not k.startswith("AWS_") or k in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"))}
    shown["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{k}={v}\n" for k, v in shown.items())


def serve(port: int, propagation_s: float) -> None:
    from chalicelib import bootstrap
    from tools.local_server import serving

    stop = threading.Event()

    def sweeper() -> None:
        while not stop.wait(SWEEP_EVERY_S):
            try:
                report = bootstrap.broker().sweep()
                if report:
                    logging.info("sweep: %s", report)
            except Exception:
                logging.exception("sweep failed; trying again in %ss", SWEEP_EVERY_S)

    with serving(port):
        threading.Thread(target=sweeper, name="sweeper", daemon=True).start()
        _print_welcome(port, propagation_s)
        try:
            stop.wait()
        except KeyboardInterrupt:
            print("\nstopping: API, sweeper and the local AWS world")
        finally:
            stop.set()


def _print_welcome(port: int, propagation_s: float) -> None:
    url = f"http://127.0.0.1:{port}"
    delay = "" if not propagation_s else (
        f"\n  # IAM changes take effect {propagation_s:g} s late, as on AWS (LOCAL_IAM_PROPAGATION=0 turns it off):"
        "\n  # an assume-role right after the approval is refused for that long, then works.")
    print(f"""
access-broker is running on {url} (stage local), against a local AWS world.

In another shell:
  set -a; . .local/env; set +a
  # ask for access as s3-access, approve as bob:
  curl -s -X POST $ACCESS_BROKER_URL/v1/requests -H 'X-Local-Principal: arn:aws:iam::111111111111:user/s3-access' \\
       -H 'Content-Type: application/json' \\
       -d '{{"profile": "s3-prod", "duration": "1h", "reason": "fixing the export job"}}'
  curl -s -X POST $ACCESS_BROKER_URL/v1/requests/<id>/approve -H 'X-Local-Principal: arn:aws:iam::111111111111:user/bob'
  # then, as s3-access, with the stock AWS CLI:{delay}
  aws --profile s3-access --endpoint-url "$AWS_ENDPOINT_URL" sts assume-role \\
      --role-arn arn:aws:iam::222222222222:role/switch-role-for-S3 --role-session-name s3-access
  # or through Slack (signed like Slack signs; what the broker posts is printed here and there):
  make slack ARGS="/request-access s3-prod 1h fixing the export job"
  make slack ARGS="--as bob click approve <id>"
  # on call in PagerDuty (a local stand-in), s3-access's s3-prod request is approved by no human:
  make on-call EMAIL=s3-access@example.com

Ctrl-C stops everything.
""", flush=True)


if __name__ == "__main__":
    main()
