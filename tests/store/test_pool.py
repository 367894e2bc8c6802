"""The pool (app.store.pool): connections handed out checked and idle."""

from __future__ import annotations

from psycopg import pq

from app.asgi import create_app
from app.config import Config
from app.store import pool as pool_module


async def test_a_connection_is_handed_out_idle_so_its_transaction_is_the_callers(
    pool: pool_module.Pool,
) -> None:
    async with pool.connection() as conn:
        # A check that left a transaction open would make this block a mere savepoint.
        assert conn.info.transaction_status is pq.TransactionStatus.IDLE
        async with conn.transaction():
            await conn.execute("create table committed_here (n int)")
        assert conn.info.transaction_status is pq.TransactionStatus.IDLE
    async with pool.connection() as other:
        cur = await other.execute("select to_regclass('committed_here') is not null as found")
        assert (await cur.fetchone()) == {"found": True}


async def test_a_dead_connection_is_replaced_not_handed_out(pool: pool_module.Pool) -> None:
    async with pool.connection() as conn, pool.connection() as killer:
        cur = await conn.execute("select pg_backend_pid() as pid")
        row = await cur.fetchone()
        assert row is not None
        await conn.commit()  # idle, so the pool takes it back as it is
        await killer.execute("select pg_terminate_backend(%s)", [row["pid"]])
    for _ in range(3):  # whichever connection comes out works
        async with pool.connection() as conn:
            cur = await conn.execute("select 1 as one")
            assert (await cur.fetchone()) == {"one": 1}


async def test_a_read_runs_outside_a_transaction_and_gives_the_connection_back_as_it_was(
    pool: pool_module.Pool,
) -> None:
    async with pool_module.read(pool) as conn:
        cur = await conn.execute("select 1 as one")
        assert (await cur.fetchone()) == {"one": 1}
        # No BEGIN was sent: the statement ran (and ended) on its own.
        assert conn.info.transaction_status is pq.TransactionStatus.IDLE
        assert conn.autocommit
    async with pool.connection() as conn:  # whichever comes out is out of autocommit
        assert not conn.autocommit


def test_the_api_pool_prepares_statements_at_their_first_run(config: Config) -> None:
    # Its pages are a few statements run over and over on every connection in turn: prepared
    # at once, PostgreSQL can settle on a generic plan and stop planning them.
    for pool, threshold in (
        (create_app(config).state.tokenpulse.pool, 0),
        (pool_module.create(config.settings), 5),  # psycopg's default elsewhere
    ):
        assert isinstance(pool.kwargs, dict)
        assert pool.kwargs["prepare_threshold"] == threshold
