"""`make sweep`: one sweep pass against the local world that `make run` described in .local/env."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from tools.world import BROKER_PROFILE

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".local" / "env"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not ENV_FILE.exists():
        print(f"{ENV_FILE} does not exist: start the local world with `make run` first", file=sys.stderr)
        return 2
    for line in ENV_FILE.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip():
            os.environ[name.strip()] = value
    # .local/env leaves the broker's keys out on purpose; they are the `broker` profile of .local/aws-credentials.
    if "AWS_ACCESS_KEY_ID" not in os.environ:
        os.environ.setdefault("AWS_PROFILE", BROKER_PROFILE)

    from chalicelib import bootstrap
    from chalicelib.sweeper import sweep

    try:
        print(f"sweep: {sweep(bootstrap.broker())}")
    except Exception as exc:  # most often: the world `make run` started is gone
        print(f"sweep failed: {exc}\nIs `make run` still running? It serves {os.environ.get('AWS_ENDPOINT_URL')}.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
