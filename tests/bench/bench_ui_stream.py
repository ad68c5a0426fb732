"""Benchmark: the real ConversationView under a delta flood, a paced stream and a huge history.

Offscreen, with the Qt event loop running and a 5 ms heartbeat timer recording how late the
loop gets (budget: largest gap ≤ 50 ms).
1. Flood: 20,000 in-process deltas (5,000 reasoning, 15,000 content with headings, tables and
   code) fed as fast as possible in slices from a zero-ms timer, until drawn; raw ratios against
   string appends (direct, and fed by the same loop) and the gap, with default GC and after
   gc.freeze(). The raw ratio only says how much Markdown work there is: the feed is instant.
2. Network flood: the stand-in's 20,000 deltas through the real StepClient under qasync, into
   the view vs into string appends: the budget's comparison (whole stream ≤ 1.5×).
3. Paced: 2,000 deltas over 2 s (the 20,000-over-20-s stream scaled down); UI-thread CPU
   seconds per second (time.thread_time of the main thread).
4. History: show a 5,000-message conversation with 200 image attachments (real PNG
   thumbnails) vs a 10-message one: first-paint ratio (≤ 2×), RSS growth after scrolling to the
   top (≤ 150 MB), largest heartbeat gap during that scripted scroll (≤ 50 ms).
Run: `python tests/bench/bench_ui_stream.py`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_API"] = "pyside6"
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.store import AttachmentRecord, Message  # noqa: E402
from app.ui.app import make_loop  # noqa: E402
from app.ui.widgets.conversation_view import ConversationView  # noqa: E402
from tests.bench.heartbeat import Heartbeat  # noqa: E402

Delta = tuple[bool, str]  # (is_reasoning, text)
GAP_BUDGET_MS = 50.0


def message(message_id: int, role: str, content: str = "", **changes: object) -> Message:
    base = Message(id=message_id, conversation_id=1, role=role, content=content, reasoning="",
                   status="complete", error=None, model="step-3.7-flash", effort="medium",
                   prompt_tokens=10, completion_tokens=20, cached_tokens=0, version_of=None,
                   reply_to=message_id - 1 if role == "assistant" else None,
                   created_at=int(time.time() * 1000), finished_at=None, finish_reason=None,
                   attachments=())
    return replace(base, **changes)


def flood(reasoning: int, content: int) -> list[Delta]:
    """Small deltas, like the stand-in's flood: a few characters each."""
    section = ("## Section {n}\n\nSome *prose* with `inline code` and a [link](https://"
               "example.com). More words follow here to make a paragraph.\n\n"
               "| name | value | note |\n|:--|--:|:-:|\n| alpha | 1 | a |\n| beta | 22 | b |\n\n"
               "```python\ndef f{n}(x):\n    return x * {n}\n```\n\n- item one\n- item two\n\n")
    text, n = "", 0
    while len(text) < content * 4:
        text += section.format(n=n)
        n += 1
    thoughts = "I should consider the question carefully. " * (reasoning // 8 + 1)
    out: list[Delta] = [(True, thoughts[i * 5:i * 5 + 5]) for i in range(reasoning)]
    out += [(False, text[i * 4:i * 4 + 4]) for i in range(content)]
    return out


def run_until(app: QApplication, done: Callable[[], bool], timeout: float = 120.0,
              poll_ms: int = 1) -> None:
    """Run the Qt event loop (a real one, not a busy processEvents loop) until `done()`."""
    deadline = time.perf_counter() + timeout
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(poll_ms)
    poll.timeout.connect(lambda: loop.quit() if done() or time.perf_counter() > deadline
                         else None)
    if not done():
        poll.start()
        loop.exec()
        poll.stop()
    if not done():
        raise TimeoutError("benchmark step did not finish")


def feed_sliced(app: QApplication, deltas: list[Delta], consume: Callable[[Delta], None],
                slice_size: int) -> None:
    """Feed from a zero-ms timer, `slice_size` deltas per event-loop turn."""
    position = 0
    timer = QTimer()
    timer.setInterval(0)

    def step() -> None:
        nonlocal position
        for delta in deltas[position:position + slice_size]:
            consume(delta)
        position += slice_size
        if position >= len(deltas):
            timer.stop()

    timer.timeout.connect(step)
    timer.start()
    run_until(app, lambda: position >= len(deltas))


def new_view(app: QApplication) -> ConversationView:
    view = ConversationView()
    view.resize(900, 800)
    view.show()
    run_until(app, view.isVisible)
    return view


def bench_flood(app: QApplication, beat: Heartbeat, label: str) -> None:
    deltas = flood(5_000, 15_000)
    start = time.perf_counter()
    reasoning, content = "", ""
    for is_reasoning, text in deltas:
        if is_reasoning:
            reasoning += text
        else:
            content += text
    plain = time.perf_counter() - start

    parts: list[str] = []
    start = time.perf_counter()
    feed_sliced(app, deltas, lambda d: parts.append(d[1]), 200)
    paced = time.perf_counter() - start

    view = new_view(app)
    view.show_conversation([message(1, "user", "hi"), message(2, "assistant", "hello")],
                           None, lambda _sha: None)
    run_until(app, view.is_idle)
    view.begin_reply(message(3, "user", "flood"), message(4, "assistant", status="streaming"))

    def consume(delta: Delta) -> None:
        if delta[0]:
            view.append_reasoning(4, delta[1])
        else:
            view.append_content(4, delta[1])

    beat.start()
    start = time.perf_counter()
    feed_sliced(app, deltas, consume, 200)
    view.finish_reply(4, "complete", None)
    run_until(app, view.is_idle)
    ui = time.perf_counter() - start
    gap = beat.stop()
    final = view.message(4)
    assert final is not None and final.content == content and final.reasoning == reasoning
    print(f"flood: 20,000 deltas ({len(content):,} chars of Markdown), {label}")
    print(f"  no-UI consumer (string appends)        {plain * 1000:8.1f} ms")
    print(f"  same appends, fed by the Qt loop       {paced * 1000:8.1f} ms")
    print(f"  ConversationView, fed by the Qt loop   {ui * 1000:8.1f} ms")
    print(f"  ratio vs no-UI consumer                {ui / plain:8.1f} x")
    print(f"  ratio vs loop-paced appends            {ui / paced:8.1f} x")
    print(f"  largest heartbeat gap                  {gap:8.1f} ms  (budget {GAP_BUDGET_MS})"
          f"{cpu_note(beat)}")
    view.deleteLater()


def cpu_note(beat: Heartbeat) -> str:
    """The longest UI-thread CPU stretch between two ticks: on a machine shared with other
    jobs a gap also counts waits for a core; the CPU stretch is the thread's own work."""
    return f"  [longest UI-thread CPU stretch {beat.longest_cpu():.1f} ms]"


def list_sink(parts: list[str]) -> Callable[[bool, str], None]:
    return lambda _is_reasoning, text: parts.append(text)


def view_sink(view: ConversationView, message_id: int) -> Callable[[bool, str], None]:
    def sink(is_reasoning: bool, text: str) -> None:
        if is_reasoning:
            view.append_reasoning(message_id, text)
        else:
            view.append_content(message_id, text)
    return sink


def bench_network(app: QApplication, beat: Heartbeat, rounds: int = 3) -> None:
    """The stand-in's 20,000-delta flood through the real StepClient under qasync, into the
    view vs into string appends: the budget's own comparison (≤ 1.5×)."""
    import asyncio

    from app.api.client import StepClient
    from app.api.events import ContentDelta, ReasoningDelta
    from app.api.request import ChatMessage, ChatRequest
    from tests.standin import StandIn

    key = "sk-bench-ui"
    request = ChatRequest(model="step-3.7-flash", messages=(ChatMessage("user", "flood"),))
    server = StandIn(api_key=key).start()
    server.fault("flood", count=20_000, times=None)
    loop = make_loop(app)  # the app's own loop: it finalizes abandoned async generators
    asyncio.set_event_loop(loop)

    async def consume(step: StepClient, on_text: Callable[[bool, str], None]) -> int:
        count = 0
        async with contextlib.aclosing(step.stream_chat(request)) as events:
            async for event in events:
                if type(event) is ContentDelta:
                    on_text(False, event.text)
                    count += 1
                elif type(event) is ReasoningDelta:
                    on_text(True, event.text)
                    count += 1
        return count

    async def scenario() -> tuple[list[float], list[float], float, float]:
        plain_t, ui_t, gap, cpu_stretch = [], [], 0.0, 0.0
        async with StepClient(base_url=server.base_url, api_key=key) as step:
            await consume(step, lambda _r, _t: None)  # warm up the stand-in's render cache
            for n in range(rounds):
                parts: list[str] = []
                start = time.perf_counter()
                await consume(step, list_sink(parts))
                plain_t.append(time.perf_counter() - start)
                view = ConversationView()  # no nested event loop inside a coroutine
                view.resize(900, 800)
                view.show()
                view.show_conversation([], None, lambda _sha: None)
                view.begin_reply(message(2 * n + 1, "user", "flood"),
                                 message(2 * n + 2, "assistant", status="streaming"))
                mid = 2 * n + 2
                beat.start()
                start = time.perf_counter()
                got = await consume(step, view_sink(view, mid))
                view.finish_reply(mid, "complete", None)
                while not view.is_idle():
                    await asyncio.sleep(0.002)
                ui_t.append(time.perf_counter() - start)
                gap = max(gap, beat.stop())
                cpu_stretch = max(cpu_stretch, beat.longest_cpu())
                final = view.message(mid)
                assert got == 20_000 and final is not None and final.content == "".join(parts)
                view.deleteLater()
        return plain_t, ui_t, gap, cpu_stretch

    try:
        plain_t, ui_t, gap, cpu_stretch = loop.run_until_complete(scenario())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        server.stop()
        loop.close()
        asyncio.set_event_loop(None)
    plain, ui = statistics.median(plain_t), statistics.median(ui_t)
    print(f"network flood: stand-in, 20,000 deltas, StepClient under qasync ({rounds} rounds)")
    print(f"  no-UI consumer (string appends)        {plain * 1000:8.1f} ms")
    print(f"  into ConversationView (until drawn)    {ui * 1000:8.1f} ms")
    print(f"  ratio                                  {ui / plain:8.2f} x  (budget 1.5)")
    print(f"  largest heartbeat gap                  {gap:8.1f} ms  (budget {GAP_BUDGET_MS})"
          f"  [longest UI-thread CPU stretch {cpu_stretch:.1f} ms]")


def bench_paced(app: QApplication, beat: Heartbeat, total: int = 2_000,
                seconds: float = 2.0) -> None:
    deltas = flood(total // 4, total - total // 4)
    view = new_view(app)
    view.show_conversation([], None, lambda _sha: None)
    view.begin_reply(message(1, "user", "paced"), message(2, "assistant", status="streaming"))
    sent = 0
    start = time.perf_counter()
    timer = QTimer()
    timer.setInterval(5)

    def step() -> None:
        nonlocal sent
        due = min(total, int((time.perf_counter() - start) / seconds * total) + 1)
        for is_reasoning, text in deltas[sent:due]:
            (view.append_reasoning if is_reasoning else view.append_content)(2, text)
        sent = due

    timer.timeout.connect(step)
    beat.start()
    cpu_start = time.thread_time()
    timer.start()
    run_until(app, lambda: sent >= total, poll_ms=50)
    timer.stop()
    view.finish_reply(2, "complete", None)
    run_until(app, view.is_idle, poll_ms=50)
    wall = time.perf_counter() - start
    cpu = time.thread_time() - cpu_start
    gap = beat.stop()
    print(f"paced: {total:,} deltas over {seconds:.0f} s")
    print(f"  UI-thread CPU                          {cpu / wall * 100:8.1f} % of one core "
          f"({cpu:.2f} s in {wall:.2f} s, with a 5 ms feed timer and the heartbeat)")
    print(f"  largest heartbeat gap                  {gap:8.1f} ms{cpu_note(beat)}")
    view.deleteLater()


def make_history(count: int, images: int, thumb_dir: Path) -> tuple[list[Message],
                                                                    dict[str, Path]]:
    thumbs: dict[str, Path] = {}
    every = max(1, (count // 2) // max(images, 1))
    messages: list[Message] = []
    made = 0
    for turn in range(count // 2):
        user_id = 2 * turn + 1
        attachments: tuple[AttachmentRecord, ...] = ()
        if made < images and turn % every == 0:
            sha = f"{made:064x}"
            path = thumb_dir / f"{sha}.png"
            if not path.exists():
                image = QImage(160, 120, QImage.Format.Format_RGB32)
                image.fill(0xFF000000 | (made * 2654435761 & 0xFFFFFF))
                image.save(str(path))
            thumbs[sha] = path
            attachments = (AttachmentRecord(kind="image", mime="image/png", sha256=sha,
                                            bytes=1000, width=1600, height=1200,
                                            duration_s=None, original_name=f"img{made}.png",
                                            ordinal=0),)
            made += 1
        messages.append(message(user_id, "user", f"Question {turn}: what about this?",
                                attachments=attachments))
        messages.append(message(user_id + 1, "assistant",
                                f"## Answer {turn}\n\nSome **bold** words and a list:\n\n"
                                f"- one\n- two\n\n```python\nprint({turn})\n```\n",
                                reasoning="thought"))
    return messages, thumbs


class PaintWatch(QObject):
    """Notes when the watched widget is first painted."""

    def __init__(self) -> None:
        super().__init__()
        self.painted_at: float | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.painted_at is None:
            self.painted_at = time.perf_counter()
        return False


def first_paint(app: QApplication, messages: list[Message], thumbs: dict[str, Path]
                ) -> tuple[float, ConversationView]:
    view = new_view(app)
    run_until(app, view.is_idle)
    watch = PaintWatch()
    container = view.scroll_area.widget()
    container.installEventFilter(watch)
    start = time.perf_counter()
    view.show_conversation(messages, None, thumbs.get)
    run_until(app, lambda: watch.painted_at is not None)
    assert watch.painted_at is not None
    elapsed = watch.painted_at - start
    container.removeEventFilter(watch)
    return elapsed, view


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def bench_history(app: QApplication, beat: Heartbeat) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big, thumbs = make_history(5_000, 200, Path(tmp))
        small, _ = make_history(10, 0, Path(tmp))
        small_times, big_times = [], []
        for _ in range(5):
            for sample, times in ((small, small_times), (big, big_times)):
                elapsed, view = first_paint(app, sample, thumbs)
                times.append(elapsed)
                run_until(app, view.is_idle)
                view.close()
                view.deleteLater()
                app.processEvents()
        small_ms = statistics.median(small_times) * 1000
        big_ms = statistics.median(big_times) * 1000
        gc.collect()
        app.processEvents()
        rss_before = rss_mb()
        _elapsed, view = first_paint(app, big, thumbs)
        run_until(app, view.is_idle)
        bar = view.scroll_area.verticalScrollBar()
        beat.start()
        start = time.perf_counter()
        while not (view.built_range[0] == 0 and bar.value() == 0 and view.is_idle()):
            bar.setValue(max(0, bar.value() - 600))  # a fast scroll: 600 px per frame
            frame_end = time.perf_counter() + 0.016
            while time.perf_counter() < frame_end:
                app.processEvents()
            if time.perf_counter() - start > 600:
                raise TimeoutError("scroll to top did not finish")
        scroll_s = time.perf_counter() - start
        gap = beat.stop()
        gc.collect()
        app.processEvents()
        rss_after = rss_mb()
        print("history: 5,000 messages with 200 image attachments vs 10 messages")
        print(f"  first paint, 10 messages               {small_ms:8.1f} ms")
        print(f"  first paint, 5,000 messages            {big_ms:8.1f} ms")
        print(f"  ratio                                  {big_ms / small_ms:8.2f} x  (budget 2)")
        print(f"  scripted scroll to the top             {scroll_s:8.1f} s "
              f"(widgets alive at the end: {view.built_range[1] - view.built_range[0]})")
        print(f"  largest heartbeat gap while scrolling  {gap:8.1f} ms  (budget {GAP_BUDGET_MS})"
              f"{cpu_note(beat)}")
        print(f"  RSS growth                             {rss_after - rss_before:8.1f} MB "
              f"(budget 150; {rss_before:.0f} → {rss_after:.0f} MB)")
        view.deleteLater()


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)  # views come and go; qasync must keep running
    beat = Heartbeat()
    warm = new_view(app)  # import Markdown/Pygments and polish styles before timing
    warm.show_conversation(make_history(4, 0, Path(tempfile.gettempdir()))[0], None,
                           lambda _sha: None)
    run_until(app, warm.is_idle)
    warm.deleteLater()
    bench_flood(app, beat, "default GC")
    # A full (gen-2) collection over every Qt wrapper alive can take tens of ms; an app calls
    # gc.freeze() once start-up is done so those objects are never scanned again.
    gc.collect()
    gc.freeze()
    bench_flood(app, beat, "after gc.freeze()")
    bench_network(app, beat)
    bench_paced(app, beat)
    bench_history(app, beat)


if __name__ == "__main__":
    main()
