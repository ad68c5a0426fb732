"""`stepdesk ask`: preparing the files, printing one streamed turn, templates, tables."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.errors import EXIT_API, EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, CliError
from app.turn_events import (
    ContentDelta,
    MediaOmitted,
    MediaPrepared,
    ReasoningDelta,
    Retrying,
    TurnFailed,
    TurnFinished,
    TurnStarted,
)

if TYPE_CHECKING:
    from app.media.intake import PreparedMedia
    from app.services import Services
    from app.templates.model import Template


async def prepare_files(args: argparse.Namespace, prompt: str, services: Services,
                        err: TextIO) -> list[tuple[str, list[PreparedMedia]]]:
    """Run every --file through the media pipeline before anything is sent.

    Returns the turns to send: one normally, one per part with `--split`.
    """
    recorded = getattr(args, "edits", [])
    if not args.file and not recorded:  # a plain question loads no media code at all
        return [(prompt, [])]
    from app.cli.edit_flags import edits_by_file

    edits = edits_by_file(recorded, len(args.file))  # edits without a --file: exit 2
    from app.media.edit_steps import EditRequest
    from app.media.errors import MediaError, VideoTooLong, fmt_duration
    from app.media.fitting import fit_message
    from app.media.intake import IntakeOptions, prepare
    from app.media.video import parse_time_range, split

    work_dir = services.blobs.tmp_dir
    trim = None
    if args.trim:
        try:
            trim = parse_time_range(args.trim)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_BAD_INPUT) from None
    prepared: list[PreparedMedia] = []
    turns: list[tuple[str, list[PreparedMedia]]] = []
    parts: list[tuple[Path, float, float]] = []
    try:
        long_video: tuple[Path, float] | None = None
        for index, path in enumerate(args.file):
            steps = edits.get(index)
            edit = EditRequest(steps) if steps else None
            try:
                prepared.append(await prepare(path, work_dir=work_dir,
                                              options=IntakeOptions(trim=trim, edit=edit)))
                for hint in (prepared[-1].edit.hints if prepared[-1].edit else ()):
                    print(f"stepdesk: {prepared[-1].original_name}: {hint}", file=err)
            except VideoTooLong as exc:
                if not args.split:
                    raise
                long_video = (path, exc.duration_s)
        if trim is not None and sum(1 for p in prepared if p.kind == "video") != 1:
            raise CliError("--trim applies to exactly one video; this request has "
                           f"{sum(1 for p in prepared if p.kind == 'video')}.", EXIT_BAD_INPUT)
        prepared = await asyncio.to_thread(fit_message, prepared, work_dir)
        if long_video is None:
            if args.split:
                raise CliError("--split needs a video of 5 minutes or longer.", EXIT_BAD_INPUT)
            return [(prompt, prepared)]
        parts = await asyncio.to_thread(split, long_video[0], 299.0, work_dir)
        for index, (part_path, start, end) in enumerate(parts, 1):
            span = f"{fmt_duration(start)}–{fmt_duration(end)}"
            try:
                media = await prepare(part_path, work_dir=work_dir,
                                      name=f"{long_video[0].name} ({span})")
            finally:
                part_path.unlink(missing_ok=True)  # prepare() wrote its own copy to send
            label = f"[Part {index} of {len(parts)}: {span}]"
            others = prepared if index == 1 else []  # other files go with the first part
            turns.append((f"{label} {prompt}".strip(), [*others, media]))
        return turns
    except BaseException as exc:
        # Refused or failed half-way: the copies made so far go (nothing will send them).
        discard_prepared([("", prepared), *turns])
        for part_path, _, _ in parts:
            part_path.unlink(missing_ok=True)
        if isinstance(exc, MediaError):
            raise CliError(str(exc), EXIT_BAD_INPUT) from None
        raise


def discard_prepared(turns: list[tuple[str, list[PreparedMedia]]]) -> None:
    """Remove the temp copies of media no turn adopted (a refusal, a failure, a stop).

    Sent media were moved into the blob store, so their temp paths no longer exist."""
    for _, media in turns:
        for item in media:
            item.path.unlink(missing_ok=True)


async def stream_turn(services: Services, conversation_id: int | None, text: str,
                      media: list[PreparedMedia], args: argparse.Namespace, out: TextIO,
                      err: TextIO, *, title: str | None = None,
                      template: str | None = None) -> tuple[int | None, int]:
    """Send one turn and print it as it streams; returns (conversation id, exit code).

    The engine hands over one network read's events at a time (`send_batches`); each run of
    answer (or thinking) text in it is one write and one flush (`write_run`), so the text
    still appears as it arrives, without a write and a flush per delta.
    `template`: the slug of the task template the turn comes from (stored with it)."""
    engine = services.engine()
    code = EXIT_OK
    ended_with_newline = True
    thinking = err if args.show_reasoning else None
    # Closed explicitly, so a reader that leaves (`| head`) ends the reply as stopped at once.
    batches = engine.send_batches(conversation_id, text, media, effort=args.effort,
                                  model=args.model, title=title, template=template)
    async with contextlib.aclosing(batches):
        async for batch in batches:
            run: list[str] = []
            run_to: TextIO | None = None
            for event in batch:  # `type() is`: the delta classes are final, and this is hot
                if type(event) is ContentDelta:
                    if run_to is not out:
                        write_run(run_to, run)
                        run, run_to = [], out
                    run.append(event.text)
                    ended_with_newline = event.text.endswith("\n")
                    continue
                if type(event) is ReasoningDelta:  # to stderr, or dropped with run_to None
                    if run_to is not thinking:
                        write_run(run_to, run)
                        run, run_to = [], thinking
                    run.append(event.text)
                    continue
                write_run(run_to, run)
                run, run_to = [], None
                if isinstance(event, TurnStarted):
                    conversation_id = event.conversation_id
                elif isinstance(event, MediaPrepared):
                    if args.verbose:
                        changes = "; ".join(event.changes) or "sent as is"
                        print(f"stepdesk: {event.attachment.original_name}: {changes}",
                              file=err)
                elif isinstance(event, MediaOmitted):
                    print(f"stepdesk: left out {', '.join(event.names)}: {event.reason}",
                          file=err)
                elif isinstance(event, Retrying):
                    if args.verbose or err.isatty():  # a pipe gets only the final error line
                        print(f"stepdesk: {event.reason} Retrying in {event.delay:.1f} s "
                              f"(attempt {event.attempt}).", file=err)
                elif isinstance(event, TurnFinished):
                    if event.status == "truncated":
                        print("stepdesk: warning: the answer was cut off at the token limit; "
                              f"continue with --conversation {conversation_id}.", file=err)
                elif isinstance(event, TurnFailed):
                    if not ended_with_newline:
                        out.write("\n")
                        ended_with_newline = True
                    print(f"stepdesk: {event.error}", file=err)
                    code = event.exit_code or EXIT_API
            write_run(run_to, run)
    if not ended_with_newline:
        out.write("\n")
    out.flush()
    if code == EXIT_OK and conversation_id is not None and err.isatty():
        print(f"(conversation {conversation_id})", file=err)
    return conversation_id, code


def write_run(stream: TextIO | None, pieces: list[str]) -> None:
    """Write consecutive deltas to `stream` as one text and flush once (None: drop them).

    Shows exactly what writing each would: the terminal writer turns a CR LF into a newline
    but a CR alone into `^M`, so deltas where a CR may meet the next one's LF go one by one.
    """
    if stream is None or not pieces:
        return
    text = "".join(pieces)
    if "\r" in text and len(pieces) > 1:
        for piece in pieces:
            stream.write(piece)
    else:
        stream.write(text)
    stream.flush()


async def resolve_template(args: argparse.Namespace, services: Services) -> Template | None:
    """The --template, checked before anything is prepared or sent; its effort unless --effort.

    Its media fit is checked after preparing (`check_template_media`), when the kinds are known.
    """
    if not args.template:
        return None
    from app.cli.templates import catalogue
    from app.templates.model import TemplateError

    try:
        template = await catalogue(services).require(args.template)
    except TemplateError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    if not args.file:
        raise CliError(f"{template.media_problem([])} Add one with --file PATH.",
                       EXIT_BAD_INPUT)
    if args.effort is None:
        args.effort = template.effort
    return template


def check_template_media(template: Template,
                         turns: list[tuple[str, list[PreparedMedia]]]) -> None:
    problem = template.media_problem([m.kind for _, media in turns for m in media])
    if problem:
        raise CliError(problem, EXIT_BAD_INPUT)


def prepare_table_dir(directory: Path) -> None:
    """Create --save-tables DIR up front: a bad path fails before anything is sent."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"Cannot use {directory} for tables: {exc.strerror or exc}.",
                       EXIT_BAD_INPUT) from None


async def save_tables(services: Services, conversation_id: int, directory: Path, first: int,
                      err: TextIO) -> int:
    """Write each table of the conversation's last answer as DIR/table-N.csv (N from `first`).

    Prints each path on stderr; returns how many were written.
    """
    from app.results.tables import extract_tables

    messages = await services.store.active_messages(conversation_id)
    answer = next((m.content for m in reversed(messages) if m.role == "assistant"), "")
    tables = extract_tables(answer)
    for number, table in enumerate(tables, first):
        path = directory / f"table-{number}.csv"
        try:
            table.save_csv(path)
        except OSError as exc:
            raise CliError(f"Cannot write {path}: {exc.strerror or exc}.", EXIT_FAILURE) from None
        print(path, file=err)
    return len(tables)
