"""`stepdesk history list | show | search | export`: read the local history, no network."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from app.cli.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, CliError
from app.cli.formatting import format_time
from app.safetext import one_line

if TYPE_CHECKING:
    from app.services import Services


async def run_history(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    store = services.store
    if args.action == "list":
        for conv in await store.list_conversations():
            pin = "*" if conv.pinned else " "
            print(f"{conv.id:>6} {pin} {format_time(conv.updated_at)}  {one_line(conv.title)}",
                  file=out)
        return EXIT_OK
    if args.action == "search":
        for hit in await store.search(" ".join(args.text)):
            snippet = " ".join(one_line(hit.snippet).split())
            print(f"{hit.conversation_id:>6}  {one_line(hit.title)}  [{hit.role}] {snippet}",
                  file=out)
        return EXIT_OK
    conversation = await store.get_conversation(args.id)
    if conversation is None:
        raise CliError(f"There is no conversation {args.id} (see `stepdesk history list`).",
                       EXIT_BAD_INPUT)
    if args.action == "show":
        print(f"# {one_line(conversation.title)}", file=out)
        for message in await store.active_messages(conversation.id):
            status = "" if message.status in ("complete", "") else f" ({message.status})"
            names = ", ".join(one_line(a.original_name) for a in message.attachments)
            media = f" [{names}]" if names else ""
            print(f"\n## {message.role}{status}{media}\n{message.content}", file=out)
            if message.error and message.status != "complete":
                print(f"  ! {one_line(message.error)}", file=out)
        return EXIT_OK
    try:
        text = await store.export_conversation(conversation.id, args.format, args.output,
                                               services.blobs, overwrite=args.force)
    except FileExistsError:
        raise CliError(f"{args.output} already exists; add --force to replace it.",
                       EXIT_BAD_INPUT) from None
    except IsADirectoryError:
        raise CliError(f"{args.output} is a folder; give a file name to export to.",
                       EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise CliError(f"Cannot write {args.output}: {exc.strerror or exc}; nothing was "
                       "exported.", EXIT_FAILURE) from None
    if args.output is None:
        out.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK
