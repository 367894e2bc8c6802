"""The store: the only package that imports psycopg.

Functions take a connection and never commit; the caller owns the transaction
(``async with pool.connection() as conn, conn.transaction(): ...``).
"""
