"""`stepdesk files list | prune`: the account's uploaded files (1,000 at most per account)."""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING, TextIO

from app.api.errors import ApiError, FileNotFound
from app.cli.errors import EXIT_API, EXIT_AUTH, EXIT_OK, CliError
from app.cli.formatting import format_time
from app.config import account_id

if TYPE_CHECKING:
    from app.services import Services


async def run_files(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    from app.api.errors import AuthError

    client = services.client
    assert client is not None and services.key is not None and services.key.key
    account = account_id(services.key.key)
    base = services.settings.base_url
    try:
        if args.action == "list":
            local = {u.file_id: u for u in await services.store.list_uploads(base, account)}
            for remote in await client.list_files():
                used = local.get(remote.id)
                last = format_time(used.last_used_at) if used else "not used by Step Desk"
                print(f"{remote.id}  {remote.bytes:>12,} B  {remote.filename}  {last}", file=out)
            return EXIT_OK
        pruned = 0
        for upload in await services.store.uploads_to_prune(base, account, keep=args.keep):
            with contextlib.suppress(FileNotFound):  # already gone on the server
                await client.delete_file(upload.file_id)
            await services.store.forget_upload(upload.file_id)
            pruned += 1
        print(f"Deleted {pruned} uploaded file{'s' if pruned != 1 else ''}.", file=out)
        return EXIT_OK
    except AuthError as exc:
        raise CliError(str(exc), EXIT_AUTH) from None
    except ApiError as exc:
        raise CliError(str(exc), EXIT_API) from None
