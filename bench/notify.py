"""The outbox sender against the sandbox: with Telegram's flood limits on, and off (raw capacity).

    .venv/bin/python -m bench.notify            # 5,000 messages each way (~3 min with limits)
    .venv/bin/python -m bench.notify --messages 1000 --modes on

The production pieces: OutboxSender with the real rate limiter (bot.ratelimit.RateLimiter) and
the Bot's request middleware, rendering rows the services queued (notifications.queue), sending
to the sandbox Bot API server. The messages go to many private chats (two each), so only the
global ceiling (30 messages/s) binds. "steady msg/s" counts the sends between the first and the
last 10% of them (start-up and tail excluded); "of 30/s" compares it with Telegram's ceiling;
429s are the sandbox's refusals (our limiter should leave none). With the limits off the same
run shows what the sender could do if Telegram let it.
"""
from __future__ import annotations

import argparse
import asyncio
import logging

from bench.common import Stopwatch, bench_services, open_database, table
from bench.harness import UNLIMITED
from services import notifications

CEILING = 30.0
PER_CHAT = 2


async def run(messages: int, limits_on: bool) -> list[object]:
    """Queue `messages` rows, send them all, and measure from the sandbox's request log."""
    from bot.outbox_sender import OutboxSender
    from bot.ratelimit import RateLimiter
    from bot.runtimes import Steps
    from bot.runtimes.aiogram import AiogramRuntime, make_bot
    from handlers.notifications import Notifications
    from handlers.router import Conversation
    from handlers.turn import Settings
    from sandbox.testing import running_sandbox

    async with running_sandbox(flood_limits=limits_on) as sandbox, open_database("sqlite") as bench:
        services = bench_services(bench.db)
        chats = [sandbox.user(f"C{i}").id for i in range(-(-messages // PER_CHAT))]
        now = services.ctx.clock.now()
        async with bench.db.write() as session:
            for n in range(messages):
                notifications.queue(session, audience=notifications.CUSTOMER,
                                    chat_id=chats[n % len(chats)], template="order_completed",
                                    now=now, params={"order_number": f"N{n:06d}"})
        limiter = RateLimiter() if limits_on else RateLimiter(UNLIMITED)
        runtime = AiogramRuntime(make_bot(sandbox.token, sandbox.api_url, limiter),
                                 Conversation(services, Settings()))
        sender = OutboxSender(services.outbox, Steps(runtime), Notifications(services.ctx),
                              interval=0.05)
        watch = Stopwatch()
        task = asyncio.create_task(sender.run())
        try:
            while True:
                counts = await services.outbox.counts()
                if counts.sent + counts.failed >= messages:
                    break
                await asyncio.sleep(0.2)
        finally:
            seconds = watch.seconds
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await runtime.close()
            await limiter.close()
        log = sandbox.requests("sendMessage")
        sent = sorted(e.time for e in log if e.ok)
        refused = sum(1 for e in log if e.error_code == 429)
        cut = len(sent) // 10
        window = sent[cut:len(sent) - cut]
        steady = (len(window) - 1) / (window[-1] - window[0]) if len(window) > 1 else 0.0
        in_window = sum(1 for e in log
                        if e.error_code == 429 and window and window[0] <= e.time <= window[-1])
        return ["on" if limits_on else "off", messages, counts.sent, counts.failed, seconds,
                counts.sent / seconds, steady, f"{steady / CEILING:.0%}" if limits_on else "-",
                refused, in_window]


def main() -> None:
    """One row per mode."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--modes", default="on,off", help="flood limits: on, off or on,off")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    rows = [asyncio.run(run(args.messages, mode == "on")) for mode in args.modes.split(",")]
    chats = -(-args.messages // PER_CHAT)
    print(f"\nOutbox sender, {args.messages} messages to {chats} private chats:")
    print(table(["limits", "queued", "sent", "failed", "seconds", "msg/s", "steady msg/s",
                 "of 30/s", "429s", "429s steady"], rows))


if __name__ == "__main__":
    main()
