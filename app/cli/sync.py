"""`stepdesk sync [status] | backup | restore`: encrypted sync and backups from the shell.

Failures are one line on stderr: 2 bad input (no or bad target), 3 storage or network,
4 wrong passphrase or WebDAV credentials. Files a sync had to skip are warnings; the rest
of the sync still happened, so the exit code stays 0.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from app.cli.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, CliError
from app.sync.runner import TARGET_SETTING

if TYPE_CHECKING:
    from app.services import Services
    from app.sync.engine import SyncEngine, SyncReport



async def run_sync_command(args: argparse.Namespace, services: Services,
                           env: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    from app.store import StoreError
    from app.sync.errors import SyncError

    try:
        if args.command == "restore":
            return await _restore(args, services, env, out, err)
        engine = await _engine(args, services, env)
        try:
            if args.command == "backup":
                report = await engine.backup()
                print(f"Backed up to {engine.target.label} (snapshot {report.wrote}, "
                      f"{report.blobs_up} new media files).", file=out)
            elif args.action == "status":
                await _status(engine, out)
            else:
                _print_report(await engine.sync(), engine, out, err)
        finally:
            await engine.target.aclose()
    except SyncError as exc:
        raise CliError(exc.message, exc.code) from None
    except StoreError as exc:
        raise CliError(exc.message, EXIT_FAILURE) from None
    return EXIT_OK


async def _target_text(args: argparse.Namespace, services: Services) -> str:
    given = getattr(args, "target", None) or getattr(args, "to", None) \
        or getattr(args, "source", None)
    if given:
        if getattr(args, "target", None):  # `sync --target` is remembered
            await services.store.set_setting(TARGET_SETTING, given)
        return str(given)
    remembered = await services.store.get_setting(TARGET_SETTING)
    if not remembered:
        raise CliError("No sync target yet: give --target DIR or --target https://… once "
                       "(it is remembered).", EXIT_BAD_INPUT)
    return remembered


async def _engine(args: argparse.Namespace, services: Services,
                  env: Mapping[str, str]) -> SyncEngine:
    from app.sync.runner import open_engine

    return await open_engine(services, env, await _target_text(args, services))


def _when(ms: object) -> str:
    if not isinstance(ms, int):
        return "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def _print_report(report: SyncReport, engine: SyncEngine, out: TextIO, err: TextIO) -> None:
    for problem in report.problems:
        print(f"stepdesk: warning: {problem}", file=err)
    parts = [f"merged {len(report.merged)} device(s), {report.changes} change(s)"
             if report.merged else "nothing new from other devices"]
    parts.append(f"wrote snapshot {report.wrote}" if report.wrote is not None
                 else "nothing new to write")
    if report.blobs_up or report.blobs_down:
        parts.append(f"media: {report.blobs_up} up, {report.blobs_down} down")
    print(f"Synced with {engine.target.label}: {'; '.join(parts)}.", file=out)


async def _status(engine: SyncEngine, out: TextIO) -> None:
    state = engine.status()
    device = (await engine.store.sync_clock())[0]
    print(f"target: {engine.target.label}", file=out)
    print(f"this device: {device}", file=out)
    print(f"last successful sync: {_when(state.get('last_ok'))}", file=out)
    if state.get("last_error"):
        print(f"last failure ({_when(state.get('last_error_at'))}): {state['last_error']}",
              file=out)
    for entry in await engine.list_snapshots():
        mine = " (this device)" if entry.device == device else ""
        print(f"{entry.ref}  {entry.device_name}{mine}  {_when(entry.written_at)}  "
              f"{entry.size // 1024} KB", file=out)


async def _restore(args: argparse.Namespace, services: Services, env: Mapping[str, str],
                   out: TextIO, err: TextIO) -> int:
    from app.sync.restore import restore_snapshot

    engine = await _engine(args, services, env)
    try:
        wanted = str(args.snapshot)
        device_part, _, seq_part = wanted.partition("/")
        matches = [e for e in await engine.list_snapshots()
                   if e.device.startswith(device_part) and str(e.seq) == seq_part]
        if len(device_part) < 4 or len(matches) != 1:
            raise CliError(f"No snapshot {wanted!r} at {engine.target.label} "
                           "(see `stepdesk sync status`).", EXIT_BAD_INPUT)
        done = await restore_snapshot(engine, matches[0])
    finally:
        await engine.target.aclose()
    entry = done.entry
    if done.older:
        print(f"stepdesk: warning: snapshot {entry.ref} is older than the history that was "
              "here; that history was kept aside.", file=err)
    print(f"Restored {entry.ref} from {entry.device_name} ({_when(entry.written_at)}); "
          f"{done.blobs_down} media files fetched. The previous history was saved to "
          f"{done.saved}.", file=out)
    return EXIT_OK
