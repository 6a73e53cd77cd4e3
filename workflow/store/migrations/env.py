"""Alembic environment: migrate the connection the caller passes, in its transaction."""

from alembic import context

from workflow.store.schema import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE,
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
