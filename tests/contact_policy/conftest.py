"""A real PostgreSQL server for the PostgreSQL ledger's tests (never a mock).

``RELCORE_POSTGRES_DSN`` names a server to use. Without it, the ``postgres_dsn`` fixture
starts a throwaway cluster with the server binaries on this machine (``pg_ctl`` on the
PATH or Debian's ``/usr/lib/postgresql/*/bin``), listening on 127.0.0.1 on a free port,
owned by the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as
root), and stops and deletes it at the end of the session (each xdist worker has its
own). When no server can be had the tests are skipped, unless
``RELCORE_REQUIRE_POSTGRES=1`` (CI sets it), where they fail.

:class:`ThrowawayPostgres` needs no pytest: ``benchmarks/bench_ledgers.py`` uses it too.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory, on 127.0.0.1.

    ``durable=False`` turns fsync off (a test cluster is thrown away anyway); a benchmark
    keeps it on, as a real server would.
    """

    def __init__(self, *, durable: bool = False, max_connections: int = 200) -> None:
        self.bin = find_server_binaries()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server binaries (pg_ctl, initdb) on this machine")
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root without runuser to become 'postgres'")
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user") from None
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.durable = durable
        self.max_connections = max_connections
        self.dir = Path(tempfile.mkdtemp(prefix="relcore-pg-"))
        self.port = 0
        self.dsn = ""

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self.run_as, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stdout}{done.stderr}")

    def start(self) -> str:
        if self.run_as:
            shutil.chown(self.dir, user="postgres")
        data = str(self.dir / "data")
        self._run(
            f"{self.bin}/initdb", "-D", data, "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": "",
            "max_connections": str(self.max_connections),
        }
        if not self.durable:
            settings.update(fsync="off", full_page_writes="off", synchronous_commit="off")
        for attempt in range(3):  # a free port can be taken between the look and the start
            self.port = _free_port()
            options = " ".join(f"-c {k}={v}" for k, v in {**settings, "port": self.port}.items())
            try:
                self._run(
                    f"{self.bin}/pg_ctl", "-D", data, "-l", str(self.dir / "server.log"),
                    "-w", "-t", "60", "-o", options, "start",
                )  # fmt: skip
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        return self.dsn

    def stop(self) -> None:
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*self.run_as, f"{self.bin}/pg_ctl", "-D", str(data), "-m", "immediate", "-w",
                 "stop"],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


def find_server_binaries() -> str | None:
    """The directory holding ``pg_ctl`` and ``initdb`` (the newest Debian one first)."""
    on_path = shutil.which("pg_ctl")
    candidates = [str(Path(on_path).parent)] if on_path else []
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.name.split(".")],
        reverse=True,
    )
    for directory in [*candidates, *debian]:
        if all(os.access(f"{directory}/{b}", os.X_OK) for b in ("pg_ctl", "initdb", "postgres")):
            return directory
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get("RELCORE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"RELCORE_REQUIRE_POSTGRES=1, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_dsn():
    """A DSN of a live PostgreSQL server, for the whole session."""
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'relcore[postgres]')")
    given = os.environ.get("RELCORE_POSTGRES_DSN")
    if given:
        try:
            psycopg.connect(given, connect_timeout=10).close()
        except psycopg.Error as exc:
            _unavailable(f"RELCORE_POSTGRES_DSN names a server that cannot be used: {exc}")
        yield given
        return
    try:
        server = ThrowawayPostgres()
    except RuntimeError as exc:
        _unavailable(f"no PostgreSQL server to start: {exc}")
    try:
        dsn = server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        server.stop()
        _unavailable(f"a throwaway PostgreSQL server would not start: {exc}")
    try:
        yield dsn
    finally:
        server.stop()


@pytest.fixture
def postgres_schema(postgres_dsn):
    """A fresh schema name for one test; the schema is dropped afterwards."""
    import psycopg

    name = f"relcore_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def connect(postgres_dsn):
    """``connect()``: a plain psycopg connection to the server, closed after the test."""
    import psycopg

    opened = []

    def make():
        conn = psycopg.connect(postgres_dsn, autocommit=True)
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()
