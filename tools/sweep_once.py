"""`make sweep`: one sweep pass against the local world that `make run` described in .local/env.

It tells Slack what it did as `make run`'s own sweeper does: to the local stub `make run` started (its placeholder
bot token is in .local/env), or, when `make run` talks to a real Slack, with SLACK_BOT_TOKEN from this shell."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tools.world import BROKER_PROFILE

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".local" / "env"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=ENV_FILE, help="what `make run` wrote (default .local/env)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not args.env_file.exists():
        print(f"{args.env_file} does not exist: start the local world with `make run` first", file=sys.stderr)
        return 2
    for line in args.env_file.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip():
            os.environ[name.strip()] = value
    # .local/env leaves the broker's keys out on purpose; they are the `broker` profile of .local/aws-credentials.
    if "AWS_ACCESS_KEY_ID" not in os.environ:
        os.environ.setdefault("AWS_PROFILE", BROKER_PROFILE)
    if not os.environ.get("SLACK_BOT_TOKEN"):
        print("make sweep: `make run` talks to a real Slack and .local/env keeps its bot token out; give it here too "
              "(SLACK_BOT_TOKEN=xoxb-... make sweep), or the pass would end grants without telling anyone",
              file=sys.stderr)
        return 2

    from chalicelib import bootstrap

    try:
        report = bootstrap.broker().sweep()
        drain = getattr(bootstrap.deferred(), "drain", None)  # the Slack posts run after the pass, in this process
        if drain:
            drain()
    except Exception as exc:  # most often: the world `make run` started is gone
        print(f"sweep failed: {exc}\nIs `make run` still running? It serves {os.environ.get('AWS_ENDPOINT_URL')}.",
              file=sys.stderr)
        return 1
    print(f"sweep: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
