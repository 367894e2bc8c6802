"""Runtime settings (app.ops.settings): safe knobs an admin can change without a restart."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.type(description="A runtime-tunable setting (docs/settings.md).")
class RuntimeSetting:
    key: str = strawberry.field(description="Settings field; TOKENPULSE_<KEY> in the environment.")
    value: str = strawberry.field(description="The value in effect (as stored or from the env).")
    default: str = strawberry.field(description="The environment's value (or built-in default).")
    overridden: bool = strawberry.field(description="A runtime override is stored.")
    description: str
    updated_at: datetime | None = strawberry.field(description="When the override was stored.")
    updated_by: str | None = strawberry.field(description="`cli` or `graphql`.")


@strawberry.type(description="The result of setSetting / resetSetting.")
class SettingPayload:
    setting: RuntimeSetting
    changed: bool = strawberry.field(
        description="setSetting: always true; resetSetting: false when there was no override."
    )
