"""How the FunTranslations stand-in plugs into xsoar-local: the `xsoar_local.services` entry point `PLUGIN`.

It serves the YodaSpeak integration: `run`, `playbook` and `test-playbooks` start it on a free loopback port at
the free tier's limit (5 requests an hour, fresh each run) and point the instance's `url` param at it. Like the
real service it refuses API keys it does not know (401); `--paid-key KEY` names keys it accepts as a paid plan's,
without a rate limit (or `$FUNTRANSLATIONS_PAID_KEYS`, which `ps` does not show). With `--real`,
`$FUNTRANSLATIONS_API_KEY` fills the `apikey` param.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from standins.funtranslations.faults import ACCEPTED_FORMS, parse_fault
from standins.funtranslations.keys import PAID_KEYS_ENV, keys_from_environment
from xsoar_local.services import RunningStandIn, ServiceOption, ServicePlugin

FREE_TIER_REQUESTS, FREE_TIER_WINDOW_SECONDS = 5, 3600.0


def _canonical_fault(spec: str) -> str:
    return parse_fault(spec).spec


@contextlib.contextmanager
def _start(faults: tuple[str, ...], options: Mapping[str, tuple[str, ...]]) -> Iterator[RunningStandIn]:
    # Imported here: a CLI run that needs no stand-in does not pay for the WSGI server and TLS imports.
    from standins.funtranslations.server import ServiceConfig, serve

    config = ServiceConfig(
        rate_limit=FREE_TIER_REQUESTS,
        window_seconds=FREE_TIER_WINDOW_SECONDS,
        paid_keys=frozenset([*options.get("paid_key", ()), *keys_from_environment(PAID_KEYS_ENV)]),
        faults=tuple(parse_fault(spec) for spec in faults),
        tls=False,
    )
    with serve(config) as service:
        yield service


def _main(argv: Sequence[str]) -> int:
    from standins.funtranslations.__main__ import main

    return main(argv)


PLUGIN = ServicePlugin(
    name="funtranslations",
    title="FunTranslations",
    integrations=frozenset({"YodaSpeak"}),
    start=_start,
    url_param="url",
    api_key_env="FUNTRANSLATIONS_API_KEY",
    api_key_param="apikey",
    check_fault=_canonical_fault,
    fault_help=ACCEPTED_FORMS,
    options=(
        ServiceOption(
            flag="--paid-key",
            dest="paid_key",
            metavar="KEY",
            label="paid keys",
            help="a key the embedded FunTranslations stand-in accepts as a paid plan's (repeatable); "
            f"it refuses other keys with 401. Visible in `ps`: prefer ${PAID_KEYS_ENV} (keys separated by commas)",
        ),
    ),
    main=_main,
)
