"""`access-broker`: the command line, its options and its exit codes. Only the standard library is imported here:
botocore loads on the first call to the API, so `--help` and usage errors answer at once."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, List, Optional

from access_broker_cli import __version__
from access_broker_cli.errors import INTERRUPTED, REFUSED, CliError, UsageError

EPILOG = """\
The API is found in --url or ACCESS_BROKER_URL. Every call is signed with SigV4 from the standard AWS credential
chain (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, ...).
exit codes: 0 success; 1 refused or denied (the API's detail is printed); 2 usage; 3 not active after --wait, or
the grant still does not let your credentials assume its role after --check-timeout; 4 the API could not be reached
or failed."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: given before or after the command, neither place overwrites the other with a default.
    common.add_argument("--url", default=argparse.SUPPRESS, help="the API's base URL (default: $ACCESS_BROKER_URL)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the API's JSON instead of text")
    parser = argparse.ArgumentParser(prog="access-broker", parents=[common], epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     description="Time-boxed, approved access to AWS roles, from a terminal.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[common], help=help, description=help)

    command("profiles", "the profiles you may request")
    request = command("request", "ask for a profile for a while; prints the request's id")
    request.add_argument("profile", metavar="PROFILE")
    request.add_argument("duration", metavar="DURATION", nargs="?",
                         help="like 1h, 90m or PT2H (default: the profile's)")
    request.add_argument("--reason", required=True, help="why you need it; approvers read this")
    request.add_argument("--for", dest="requester", metavar="PERSON",
                         help="request on a person's behalf (trusted tools only)")
    request.add_argument("--wait", action="store_true",
                         help="block until the request is decided; exit 0 only if it became active")
    request.add_argument("--timeout", default="15m", metavar="DURATION",
                         help="how long --wait waits (default 15m)")
    _usable_options(request, "once active, --wait returns only when")
    listing = command("list", "requests you can see (yours, and those you approve)")
    listing.add_argument("--awaiting-me", action="store_true", help="only those waiting for your approval")
    listing.add_argument("--mine", action="store_true", help="only your own")
    listing.add_argument("--state", help="only those in this state (pending, active, denied, ...)")
    command("show", "one request").add_argument("id", metavar="ID")
    for name, help in (("approve", "approve a request"), ("deny", "deny a request")):
        decide = command(name, help)
        decide.add_argument("id", metavar="ID")
        decide.add_argument("--comment", default="", help="said to the requester and kept in the audit trail")
    command("cancel", "withdraw your pending request").add_argument("id", metavar="ID")
    command("revoke", "end an active grant now").add_argument("id", metavar="ID")
    extend = command("extend", "ask for more time on an active grant")
    extend.add_argument("id", metavar="ID")
    extend.add_argument("duration", metavar="DURATION", help="how much longer, like 30m or 1h")
    console = command("console", "print the signed AWS console link of an active grant")
    console.add_argument("id", metavar="ID")
    console.add_argument("--open", action="store_true", help="open it in your browser too")
    profile = command("aws-profile", "write an AWS CLI profile that switches into the granted role")
    profile.add_argument("id", metavar="ID")
    profile.add_argument("--name", help="the profile's name (default: the request's profile, like s3-prod)")
    _usable_options(profile, "it returns only when")
    return parser


def _usable_options(command: argparse.ArgumentParser, returns: str) -> None:
    """IAM takes some seconds to apply a grant: the CLI proves it works before it says so (docs/cli.md)."""
    command.add_argument("--no-check", action="store_true",
                         help=f"return without checking that the grant works (by default, {returns} your credentials "
                              "can assume the role)")
    command.add_argument("--check-timeout", default="2m", metavar="DURATION",
                         help="how long to keep trying to assume the role before giving up (default 2m)")


def main(argv: Optional[List[str]] = None) -> None:
    sys.exit(run(argv))


def run(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)  # exits 2 with argparse's message on bad usage
    args.json = as_json = getattr(args, "json", False)
    try:
        from access_broker_cli import commands
        from access_broker_cli.api import Api

        url = getattr(args, "url", None) or os.environ.get("ACCESS_BROKER_URL")
        if not url:
            raise UsageError("no API URL: pass --url or set ACCESS_BROKER_URL (make run writes it to .local/env)")
        result = commands.COMMANDS[args.command](args, Api(url))
        _print(result.json if as_json else result.text, as_json)
        return result.exit_code
    except CliError as exc:
        if as_json and exc.body is not None:
            _print(exc.body, True)
        _say(f"access-broker: {exc.message}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("access-broker: interrupted")
        return INTERRUPTED
    except Exception as exc:  # a bug here: say so in one line; ACCESS_BROKER_DEBUG=1 shows the traceback
        if os.environ.get("ACCESS_BROKER_DEBUG"):
            raise
        _say(f"access-broker: unexpected error ({type(exc).__name__}: {exc}); "
             "run again with ACCESS_BROKER_DEBUG=1 to see where")
        return REFUSED


def _print(value: Any, as_json: bool) -> None:
    """What a command says. JSON escapes every control character itself (ensure_ascii); text goes through
    terminal.lines, so nothing the API wrote can drive the terminal, whatever the command made of it."""
    from access_broker_cli.terminal import lines

    if as_json:
        print(json.dumps(value, indent=2, ensure_ascii=True))
    elif value:
        print(lines(str(value)))
    sys.stdout.flush()


def _say(message: str) -> None:
    """An error: one line, whatever the API's detail in it holds."""
    from access_broker_cli.terminal import one_line

    print(one_line(message), file=sys.stderr)
