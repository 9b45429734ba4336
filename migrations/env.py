"""Alembic environment: the engine comes from calendar_service (config.attributes)."""

from alembic import context

import calendar_service.admin.models  # noqa: F401  (registers its tables)
import calendar_service.delivery.models  # noqa: F401  (registers its table)
import calendar_service.plans.models  # noqa: F401  (registers its tables)
import calendar_service.reminders.models  # noqa: F401  (registers its tables)
import calendar_service.store.audit  # noqa: F401  (registers its table)
import calendar_service.store.heartbeat  # noqa: F401  (registers its table)
from calendar_service.store.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
