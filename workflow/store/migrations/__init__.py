"""Alembic migrations, shipped in the package and run programmatically (no alembic.ini).

``workflow.store.schema`` runs them; ``env.py`` runs them on the connection it is handed, inside the
caller's transaction. ``HEAD`` is the newest revision this workflow knows: the engine compares
a database's revision with it on every start without importing Alembic (a test keeps it equal
to the newest file in ``versions/``). Adding a column: add it to ``workflow/store/models.py``, write
the next revision in ``versions/`` (copy the newest, set ``down_revision``), set ``HEAD``;
``tests/test_store.py`` fails while the migrated schema and the models differ.
"""

HEAD = "0007"
