"""The pool gives a lost connection's replacement up after the connect timeout, so it is back
as soon as PostgreSQL is (found by reliability/chaos: with psycopg's default of 5 minutes of
doubling back-off, the API came back 24 s after the database did; 1 s with this)."""

from __future__ import annotations

from app.store import pool as pool_module
from tests.conftest import make_config


def test_a_replacement_connection_is_given_up_after_the_connect_timeout() -> None:
    for seconds in ("5", "2.5"):
        config = make_config(
            "postgresql://nobody@127.0.0.1:1/none", TOKENPULSE_DB_CONNECT_TIMEOUT=seconds
        )
        pool = pool_module.create(config.settings)
        assert pool.reconnect_timeout == float(seconds)
