"""`stepdesk settings list | set KEY VALUE | reset KEY`: the window's preferences, headless.

Built from the options registry (`app.options`), so a new option shows up here by itself.
Values are checked exactly as the window checks them; a refused one is exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from app.cli.errors import EXIT_BAD_INPUT, EXIT_OK, CliError
from app.options import OPTIONS, OptionError, option

if TYPE_CHECKING:
    from app.services import Services


async def run_settings(args: argparse.Namespace, services: Services, env: Mapping[str, str],
                       out: TextIO) -> int:
    if args.action == "list":
        stored = await services.store.get_settings([opt.key for opt in OPTIONS])
        for opt in OPTIONS:
            text = opt.to_text(services.settings.value(opt.key))
            shown = "(unset)" if text is None else text
            from_env = opt.from_env(env)
            if from_env is not None and (opt.env_wins or opt.key not in stored):
                source = "environment"
            else:
                source = "stored" if opt.key in stored else "default"
            print(f"{opt.key:<24} {shown:<32} {source:<12} {opt.label}", file=out)
        return EXIT_OK
    target = option(args.key)
    if args.action == "reset":
        await services.store.set_settings({target.key: None})
        print(f"{target.key} is back to its default.", file=out)
        return EXIT_OK
    try:
        value = target.parse(args.value)
        await services.save_options({target.key: value})
    except OptionError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    print(f"{target.key} = {target.to_text(value) or '(unset)'}", file=out)
    if target.from_env(env) is not None and target.env_wins:
        print(f"note: {' / '.join(target.env)} is set and wins over the stored value.",
              file=out)
    return EXIT_OK
