"""The database watch: database_unreachable held in memory and sent directly, once, by the
worker that led at the last good probe; a resolve when the database answers again."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.alerting.dbwatch import DatabaseWatch
from app.alerting.messages import Message
from app.domain import DatabaseStatus
from app.store import pool as store_pool
from tests.alerting import receivers
from tests.conftest import Server, create_database, drop_database, make_config

UP = DatabaseStatus(True, 1.0, None, "17")
DOWN = DatabaseStatus(False, None, None, None, "database unavailable")


@dataclass
class Recorder:
    name: str = "slack"
    sent: list[Message] = field(default_factory=list)
    failures: int = 0

    async def send(self, message: Message) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("webhook: HTTP 503")
        self.sent.append(message)


@dataclass
class World:
    status: DatabaseStatus = UP
    now: float = 0.0
    leader: bool = True

    async def probe(self) -> DatabaseStatus:
        return self.status


def watch(world: World, *channels: Recorder) -> DatabaseWatch:
    config = make_config(TOKENPULSE_ALERT_DB_UNREACHABLE_SECONDS="30")
    named = {c.name: c for c in channels}
    return DatabaseWatch(config, named, world.probe, lambda: world.leader, clock=lambda: world.now)


async def run(w: DatabaseWatch, world: World, status: DatabaseStatus, at: float) -> None:
    world.status, world.now = status, at
    await w.check()


async def test_the_last_leader_sends_one_opening_and_one_resolve() -> None:
    world, slack, email = World(), Recorder(), Recorder("email")
    w = watch(world, slack, email)
    await run(w, world, UP, 0)
    world.leader = False  # it loses the lock with the database: it still speaks
    await run(w, world, DOWN, 10)
    await run(w, world, DOWN, 39)  # 29 s down: not yet
    assert slack.sent == []
    await run(w, world, DOWN, 40)
    await run(w, world, DOWN, 80)
    assert [m.subject for m in slack.sent] == [
        "[tokenpulse] CRITICAL database_unreachable: the database has been unreachable for "
        "30s: database unavailable"
    ]
    assert [m.subject for m in email.sent] == [m.subject for m in slack.sent]
    await run(w, world, UP, 90)
    await run(w, world, UP, 100)
    assert len(slack.sent) == 2
    assert slack.sent[1].text.startswith("\u2705 RESOLVED database_unreachable:")
    assert "(held " in slack.sent[1].text
    assert len(email.sent) == 2


async def test_a_standby_stays_silent() -> None:
    world, slack = World(leader=False), Recorder()
    w = watch(world, slack)
    await run(w, world, UP, 0)
    await run(w, world, DOWN, 1)
    await run(w, world, DOWN, 100)
    await run(w, world, UP, 200)
    assert slack.sent == []


async def test_a_failed_send_is_retried_and_an_unsent_opening_gets_no_resolve() -> None:
    world, slack, email = World(), Recorder(failures=1), Recorder("email", failures=99)
    w = watch(world, slack, email)
    await run(w, world, UP, 0)
    await run(w, world, DOWN, 1)
    await run(w, world, DOWN, 31)  # opening: slack refuses once, email keeps refusing
    assert slack.sent == []
    await run(w, world, DOWN, 46)  # retried at the next check
    assert len(slack.sent) == 1
    await run(w, world, UP, 60)
    assert len(slack.sent) == 2  # the resolve
    assert email.sent == []
    email.failures = 0
    await run(w, world, UP, 75)
    assert email.sent == []  # never announced there: no resolve of it either


async def test_a_dropped_database_is_announced_on_both_channels_then_resolved(
    pg_server: Server, templates: dict[str, str]
) -> None:
    # The real wiring: the worker pool's health probe, the configured channels, the local
    # receivers. The database is dropped (unreachable) and then created again.
    name = "tokenpulse_dbwatch_test"
    drop_database(pg_server, name)
    dsn = create_database(pg_server, name, template=templates["portable"])
    with receivers.smtp_server() as box:
        async with receivers.webhook_receiver() as hook:
            env = receivers.channel_env(hook, box) | {
                "TOKENPULSE_ALERT_DB_UNREACHABLE_SECONDS": "0",
                "TOKENPULSE_DB_CONNECT_TIMEOUT": "1",
            }
            config = make_config(dsn, **env)
            db = store_pool.create(config.settings)
            await db.open(wait=True, timeout=10)
            try:
                w = DatabaseWatch.for_pool(config, db, lambda: True)
                await w.check()
                drop_database(pg_server, name)
                await w.check()
                assert len(hook.bodies) == 1
                assert len(box.mails) == 1
                create_database(pg_server, name, template=templates["portable"])
                for _ in range(50):
                    await w.check()
                    if len(hook.bodies) == 2:
                        break
            finally:
                await db.close()
                drop_database(pg_server, name)
    assert hook.texts[0].startswith("\U0001f534 CRITICAL database_unreachable:")
    assert hook.texts[1].startswith("\u2705 RESOLVED database_unreachable:")
    assert len(box.mails) == 2
    assert receivers.SMTP_PASSWORD not in "".join(m.as_string() for m in box.mails)
