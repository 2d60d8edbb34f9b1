"""`python -m standins.funtranslations`: serve the FunTranslations-compatible service until Ctrl-C or SIGTERM.

Prints the API base URL (and, with --tls, the CA bundle path) on one line each, then serves. Keys are secrets:
give them in $FUNTRANSLATIONS_PAID_KEYS / $FUNTRANSLATIONS_KNOWN_KEYS or --paid-keys-file rather than on the
command line, where `ps` shows them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from standins.funtranslations.faults import ACCEPTED_FORMS, Fault, parse_fault
from standins.funtranslations.keys import (
    KNOWN_KEYS_ENV,
    PAID_KEYS_ENV,
    KeysFileError,
    keys_from_environment,
    keys_from_file,
)
from standins.funtranslations.server import ServiceConfig, serve
from xsoar_local.exitstatus import ExitStatus


def _fault(spec: str) -> Fault:
    try:
        return parse_fault(spec)
    except ValueError as error:
        # argparse only shows the message of an ArgumentTypeError.
        raise argparse.ArgumentTypeError(str(error)) from None


def _rate_limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        # the library's message names its own off switch (rate_limit=None); the command line's is a flag
        raise argparse.ArgumentTypeError(
            f"must be a whole number of requests >= 1 (got {text!r}); to turn the rate limit off use --no-rate-limit"
        )
    return limit


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m standins.funtranslations",
        description="A FunTranslations-compatible Yoda service on loopback, for offline use and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a freshly generated test CA")
    parser.add_argument(
        "--rate-limit", type=_rate_limit, default=5, metavar="N", help="requests per window (default: 5)"
    )
    parser.add_argument("--window", type=float, default=3600.0, metavar="SECONDS", help="window (default: 3600)")
    parser.add_argument("--no-rate-limit", action="store_true", help="turn the rate limit off")
    parser.add_argument(
        "--paid-key",
        action="append",
        default=[],
        metavar="KEY",
        help=f"a paid key: never limited (visible in `ps`: prefer ${PAID_KEYS_ENV} or --paid-keys-file)",
    )
    parser.add_argument(
        "--paid-keys-file", metavar="FILE", help="paid keys, one a line (blank lines and # comments skipped)"
    )
    parser.add_argument(
        "--known-key",
        action="append",
        default=[],
        metavar="KEY",
        help=f"a free key: limited per key (or ${KNOWN_KEYS_ENV})",
    )
    parser.add_argument("--fault", action="append", default=[], type=_fault, metavar="SPEC", help=ACCEPTED_FORMS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    paid = [*args.paid_key, *keys_from_environment(PAID_KEYS_ENV)]
    if args.paid_keys_file:
        try:
            paid += keys_from_file(args.paid_keys_file)
        except KeysFileError as error:
            parser.error(f"--paid-keys-file: {error}")
    try:
        config = ServiceConfig(
            rate_limit=None if args.no_rate_limit else args.rate_limit,
            window_seconds=args.window,
            paid_keys=frozenset(paid),
            known_keys=frozenset([*args.known_key, *keys_from_environment(KNOWN_KEYS_ENV)]),
            faults=tuple(args.fault),
            tls=args.tls,
            host=args.host,
            port=args.port,
        )
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    stop = threading.Event()

    def _on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGINT too, explicitly: a shell starts background jobs with SIGINT ignored, and Python then never raises
    # KeyboardInterrupt, so Ctrl-C (or `kill -INT`) would not stop a service started with `&`.
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, _on_sigterm)
    try:
        with serve(config) as service:
            print(service.url, flush=True)
            if service.ca_bundle is not None:
                print(service.ca_bundle, flush=True)
            stop.wait()
    except KeyboardInterrupt:
        pass
    except OSError as error:  # it could not start as asked (a port in use): a usage error, like a bad option
        print(f"error: {error}", file=sys.stderr)
        return ExitStatus.USAGE
    return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
