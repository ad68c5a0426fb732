"""`stepdesk ask --compare low,medium,high`: one question at several efforts, side by side.

The answers stream concurrently but print one after another, each under a header: the first
effort's answer is written as it arrives, later ones are buffered until the ones before them
are done (so a slow `low` holds back a finished `high`, never the other way round). A line of
figures follows each answer. `--json` prints one object instead, when everything is done.

Exit code: 0 when every column answered; otherwise the code of the first failed column in
the order asked (3 API/network, 4 auth), after printing every answer that did arrive; 130
when stopped with Ctrl+C (partial answers are kept as `stopped`).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.errors import EXIT_API, EXIT_BAD_INPUT, EXIT_OK, CliError
from app.compare import ColumnEvent, Comparer, CompareStarted, Comparison, Figures
from app.turn_events import (
    ContentDelta,
    MediaOmitted,
    MediaPrepared,
    ReasoningDelta,
    Retrying,
    TurnFailed,
    TurnFinished,
)

if TYPE_CHECKING:
    from app.media.intake import PreparedMedia
    from app.services import Services


def check_compare_args(args: argparse.Namespace) -> None:
    """Options that make no sense with --compare fail before anything is prepared."""
    clashes = [flag for flag, on in (("--effort", args.effort is not None),
                                     ("--split", args.split),
                                     ("--save-tables", args.save_tables is not None)) if on]
    if clashes:
        raise CliError(f"{clashes[0]} does not go with --compare (each column has its own "
                       "effort and answer).", EXIT_BAD_INPUT)
    if args.keep is not None and args.keep not in args.compare:
        raise CliError(f"--keep {args.keep} is not one of the compared efforts "
                       f"({','.join(args.compare)}).", EXIT_BAD_INPUT)


def figures_line(f: Figures) -> str:
    """`[medium: complete · first thought 0.4 s · first answer 1.2 s · total 2.0 s · …]`"""
    parts = [f"{f.effort}: {f.status}"]
    for label, value in (("first thought", f.first_reasoning_s),
                         ("first answer", f.first_answer_s), ("total", f.total_s)):
        if value is not None:
            parts.append(f"{label} {value:.1f} s")
    if f.reasoning_tokens is not None:
        approx = "≈" if f.tokens_estimated else ""
        parts.append(f"{approx}{f.reasoning_tokens} reasoning + {f.answer_tokens} answer tokens"
                     f" ({f.cached_tokens or 0} cached)")
    if f.retries:
        parts.append(f"{f.retries} retr{'y' if f.retries == 1 else 'ies'}")
    return "[" + " · ".join(parts) + "]"


class _Printer:
    """Prints the columns in order: the current one live, later ones once it is done."""

    def __init__(self, efforts: tuple[str, ...], out: TextIO, err: TextIO,
                 show_reasoning: bool) -> None:
        self._order = list(efforts)
        self._buffers: dict[str, list[str]] = {e: [] for e in efforts}
        self._done: set[str] = set()
        self._out, self._err, self._reasoning = out, err, show_reasoning
        self._headed: set[str] = set()

    def text(self, effort: str, text: str) -> None:
        if self._order and self._order[0] == effort:
            self._head(effort)
            self._out.write(text)
            self._out.flush()
        else:
            self._buffers[effort].append(text)

    def reasoning(self, effort: str, text: str) -> None:
        if self._reasoning and self._order and self._order[0] == effort:
            self._err.write(text)
            self._err.flush()

    def finish(self, effort: str, figures: Figures) -> None:
        self._done.add(effort)
        self._buffers[effort].append(f"\n{figures_line(figures)}\n")
        while self._order and self._order[0] in self._done:
            current = self._order.pop(0)
            self._head(current)
            self._out.write("".join(self._buffers.pop(current)))
            if self._order:
                self._head(self._order[0])
                self._out.write("".join(self._buffers[self._order[0]]))
                self._buffers[self._order[0]].clear()
            self._out.flush()

    def _head(self, effort: str) -> None:
        if effort not in self._headed:
            self._headed.add(effort)
            gap = "\n" if len(self._headed) > 1 else ""
            self._out.write(f"{gap}=== {effort} effort ===\n")


async def run_compare(services: Services, args: argparse.Namespace, conversation_id: int | None,
                      text: str, media: list[PreparedMedia], out: TextIO, err: TextIO, *,
                      title: str | None, template: str | None) -> int:
    """Run one comparison, print it (or its JSON), keep `--keep`; returns the exit code."""
    comparer = Comparer(services.engine(), services.store)
    comparison = comparer.new_turn(conversation_id, text, media, efforts=args.compare,
                                   model=args.model, title=title, template=template)
    printer = None if args.json else _Printer(comparison.efforts, out, err, args.show_reasoning)
    texts: dict[str, list[str]] = {e: [] for e in comparison.efforts}
    thoughts: dict[str, list[str]] = {e: [] for e in comparison.efforts}
    started: CompareStarted | None = None
    async for item in comparison.events():
        if isinstance(item, CompareStarted):
            started = item
        elif isinstance(item, ColumnEvent):
            _column_event(item, comparison, printer, texts, thoughts, args, err)
        elif isinstance(item, MediaPrepared) and args.verbose:
            changes = "; ".join(item.changes) or "sent as is"
            print(f"stepdesk: {item.attachment.original_name}: {changes}", file=err)
        elif isinstance(item, MediaOmitted):
            print(f"stepdesk: left out {', '.join(item.names)}: {item.reason}", file=err)
    failed = [f for f in (comparison.figures[e] for e in comparison.efforts)
              if f.status not in ("complete", "truncated")]
    kept_effort = None
    if args.keep is not None:
        kept = comparison.figures[args.keep]
        if kept.message_id is not None and kept.status in ("complete", "truncated"):
            await comparer.keep(kept.message_id)
            kept_effort = args.keep
        else:
            print(f"stepdesk: the {args.keep} answer did not finish, so it was not kept.",
                  file=err)
    if args.json:
        json.dump(_as_json(comparison, started, texts, thoughts, kept_effort, args.show_reasoning),
                  out, ensure_ascii=False, indent=2)
        out.write("\n")
        out.flush()
    elif started is not None and err.isatty():
        print(f"(conversation {started.conversation_id})", file=err)
    if not failed:
        return EXIT_OK
    return failed[0].exit_code or EXIT_API


def _column_event(item: ColumnEvent, comparison: Comparison, printer: _Printer | None,
                  texts: dict[str, list[str]], thoughts: dict[str, list[str]],
                  args: argparse.Namespace, err: TextIO) -> None:
    effort, event = item.effort, item.event
    if isinstance(event, ContentDelta):
        texts[effort].append(event.text)
        if printer is not None:
            printer.text(effort, event.text)
    elif isinstance(event, ReasoningDelta):
        thoughts[effort].append(event.text)
        if printer is not None:
            printer.reasoning(effort, event.text)
    elif isinstance(event, Retrying):
        if args.verbose or err.isatty():
            print(f"stepdesk: {effort}: {event.reason} Retrying in {event.delay:.1f} s "
                  f"(attempt {event.attempt}).", file=err)
    elif isinstance(event, TurnFailed | TurnFinished):
        if isinstance(event, TurnFailed):
            print(f"stepdesk: {effort}: {event.error}", file=err)
        elif event.status == "truncated":
            print(f"stepdesk: warning: the {effort} answer was cut off at the token limit.",
                  file=err)
        if printer is not None:
            printer.finish(effort, comparison.figures[effort])


def _as_json(comparison: Comparison, started: CompareStarted | None,
             texts: dict[str, list[str]], thoughts: dict[str, list[str]],
             kept: str | None, show_reasoning: bool) -> dict[str, Any]:
    answers = []
    for effort in comparison.efforts:
        figures = comparison.figures[effort].to_dict()
        answer: dict[str, Any] = {
            "effort": effort, "message_id": figures.pop("message_id"),
            "status": figures.pop("status"), "error": figures.pop("error") or None,
            "content": "".join(texts[effort])}
        if show_reasoning:
            answer["reasoning"] = "".join(thoughts[effort])
        figures.pop("effort")
        figures.pop("exit_code")
        answer["figures"] = figures
        answers.append(answer)
    return {
        "conversation_id": started.conversation_id if started else comparison.conversation_id,
        "user_message_id": comparison.user_message_id,
        "comparison_id": comparison.comparison_id,
        "efforts": list(comparison.efforts),
        "kept": kept,
        "answers": answers,
    }
