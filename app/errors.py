"""The Tokenpulse exception tree. Every error a client can see carries a stable ``code``.

    TokenpulseError                      code=internal          (500)
    ├── ConfigError                      code=config_invalid    stops the process at start
    ├── StoreError                       code=store_error       (500)
    │   ├── DatabaseUnavailable          code=database_unavailable (503)
    │   ├── MigrationError               code=migration_failed
    │   │   ├── FrozenMigrationChanged   code=migration_changed
    │   │   └── SchemaModeUnavailable    code=schema_mode_unavailable
    │   └── ClusterError                 code=cluster_failed    the embedded PostgreSQL (demo)
    └── ClientError                      code=bad_request       (400)
        ├── InvalidInput                 code=invalid_input     (400, names the field)
        ├── NotFound                     code=not_found         (404)
        └── MethodNotAllowed             code=method_not_allowed (405)

Each class's docstring is its default message; ``code`` and ``status`` are class attributes so
the HTTP and GraphQL layers can translate any of them without a lookup table.
"""

from __future__ import annotations


class TokenpulseError(Exception):
    """Internal error."""

    code = "internal"
    status = 500

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.field = field
        super().__init__(self.message)

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class ConfigError(TokenpulseError):
    """Invalid configuration."""

    code = "config_invalid"

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {problem}", field=setting)


class StoreError(TokenpulseError):
    """Database error."""

    code = "store_error"


class DatabaseUnavailable(StoreError):
    """The database is unavailable."""

    code = "database_unavailable"
    status = 503


class MigrationError(StoreError):
    """Migration failed."""

    code = "migration_failed"


class FrozenMigrationChanged(MigrationError):
    """An applied migration was edited; add a new migration instead."""

    code = "migration_changed"


class SchemaModeUnavailable(MigrationError):
    """The requested schema mode cannot be used with this database."""

    code = "schema_mode_unavailable"


class ClusterError(StoreError):
    """The embedded PostgreSQL cluster could not be set up, started or stopped."""

    code = "cluster_failed"


class ClientError(TokenpulseError):
    """Bad request."""

    code = "bad_request"
    status = 400


class InvalidInput(ClientError):
    """Invalid input."""

    code = "invalid_input"


class NotFound(ClientError):
    """Not found."""

    code = "not_found"
    status = 404


class MethodNotAllowed(ClientError):
    """Method not allowed."""

    code = "method_not_allowed"
    status = 405
