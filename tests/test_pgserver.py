"""The suite's own PostgreSQL server starts even when its free port is taken first (by another
xdist worker's server or another run's) before the server binds it."""

from __future__ import annotations

import socket

from tests.pgserver import PostgresServer


def test_a_server_whose_port_was_taken_starts_on_another(postgres):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        server = PostgresServer(postgres.bindir)
        server.port = taken  # as if another process had bound it since it was found free
        try:
            server.start()
            assert server.port != taken
            with server.admin() as con:
                assert con.execute("SELECT current_setting('port')").fetchone() == (
                    str(server.port),)
        finally:
            server.stop()
    assert not server.root.exists()
