"""The embedded PostgreSQL cluster behind ``tokenpulse demo``: initdb, start, reuse, stop.

It drives the server binaries (initdb, pg_ctl, pg_isready, createdb) and needs no driver.
The server listens on 127.0.0.1 only, with its unix socket inside the data directory.

PostgreSQL refuses to run as root. When we are root, every server binary runs as the
unprivileged ``postgres`` account (subprocess ``user=``/``group=``), the cluster directory is
handed to it, and when that account cannot traverse the directories above the data dir (a
checkout under /root, say) the cluster lives in /var/tmp/tokenpulse-<hash of the path> instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from app.errors import ClusterError

log = logging.getLogger(__name__)

PG_ACCOUNT = "postgres"
USER = "tokenpulse"
DATABASE = "tokenpulse"
INSTALL_HINT = "install them with `apt-get install postgresql`"
FALLBACK_ROOT = Path("/var/tmp")
SERVER_ROOT = Path("/usr/lib/postgresql")  # Debian/Ubuntu: <version>/bin, newest first
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; leave room for "/.s.PGSQL.NNNNN"
_START_TIMEOUT = 60
OWNER_FILE = "tokenpulse.owner"  # pid of the process that will stop the server


@dataclass(frozen=True, slots=True)
class Account:
    """The unprivileged account the server runs as when we are root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Started:
    dsn: str
    port: int
    initialised: bool  # True when this start ran initdb
    reused: bool  # True when the server was already running
    shared: bool  # True when another live process started it: leave it running at exit


def server_bindir() -> Path:
    """Where pg_ctl and initdb live, or a ClusterError saying how to install them."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(SERVER_ROOT.glob("*/bin"), key=_version_key, reverse=True):
        if (candidate / "pg_ctl").exists() and (candidate / "initdb").exists():
            return candidate
    raise ClusterError(f"PostgreSQL server binaries (pg_ctl, initdb) not found; {INSTALL_HINT}")


def _version_key(bindir: Path) -> tuple[int, ...]:
    # "9.6" < "15" as versions, not as strings.
    return tuple(int(part) for part in bindir.parent.name.split(".") if part.isdigit())


def run_as() -> Account | None:
    """None for a normal user; the ``postgres`` account when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(PG_ACCOUNT)
    except KeyError:
        raise ClusterError(
            f"PostgreSQL refuses to run as root and there is no {PG_ACCOUNT!r} account to run"
            f" it as; {INSTALL_HINT} (it creates the account) or run as a normal user"
        ) from None
    groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid, groups)


def can_traverse(path: Path, account: Account) -> bool:
    """Whether ``account`` can reach ``path``: every directory down to it must be searchable."""
    for folder in [*reversed(path.parents), path]:
        mode = folder.stat()
        if mode.st_uid == account.uid:
            bit = stat.S_IXUSR
        elif mode.st_gid in account.groups or mode.st_gid == account.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not mode.st_mode & bit:
            return False
    return True


def locate(data_dir: Path, account: Account | None) -> tuple[Path, str | None]:
    """The cluster directory for ``data_dir``, and a one-line note when it had to move."""
    home = data_dir.resolve()
    home.mkdir(parents=True, exist_ok=True)
    if account is None or can_traverse(home, account):
        return home / "pg", None
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    fallback = FALLBACK_ROOT / f"tokenpulse-{digest}"
    _make_private_parent(fallback)
    note = (
        f"note: the {account.name!r} account PostgreSQL runs as cannot reach {home};"
        f" keeping the embedded database in {fallback / 'pg'}"
    )
    return fallback / "pg", note


def _make_private_parent(folder: Path) -> None:
    # /var/tmp is world-writable: refuse a planted symlink or a directory someone else owns.
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o755)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise ClusterError(f"{folder} exists but is not a directory owned by us; remove it")
    folder.chmod(0o755)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One private PostgreSQL cluster in ``pgdata``; ``start`` is idempotent."""

    def __init__(self, pgdata: Path, *, port: int | None = None) -> None:
        self.pgdata = pgdata
        self.port = port
        self.account = run_as()
        self.bindir = server_bindir()

    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def start(self) -> Started:
        """Initialise on first use, start (or reuse a running server), return how to connect."""
        self._prepare_dir()
        created = not self.initialised
        if created:
            self._initdb()
        port = self.running_port()
        reused = port is not None
        if port is None:
            port = self._start()
        self._create_database(port)
        shared = reused and self._owned_by_another()
        if not shared:
            # A server left behind by a killed run is adopted: we stop it when we are done.
            (self.pgdata / OWNER_FILE).write_text(f"{os.getpid()}\n")
        return Started(dsn(port), port, initialised=created, reused=reused, shared=shared)

    def stop(self) -> bool:
        """Fast shutdown (rolls back open transactions); False if nothing was running."""
        if self.running_port() is None:
            return False
        result = self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "30")
        if result.returncode != 0:
            raise ClusterError(f"pg_ctl stop failed: {_last_line(result)}")
        return True

    def running_port(self) -> int | None:
        """The port of the server running on this cluster, or None (clearing a stale pid file)."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except FileNotFoundError:
            return None
        if len(lines) < 4 or not _is_postgres(int(lines[0])):
            # Left behind by a server that was killed (or whose pid now belongs to some other
            # program): the postmaster would refuse to start while it names a live process.
            log.warning("removing stale postmaster.pid", extra={"pgdata": str(self.pgdata)})
            pidfile.unlink(missing_ok=True)
            return None
        return int(lines[3])

    def _owned_by_another(self) -> bool:
        try:
            owner = int((self.pgdata / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            return False
        return owner != os.getpid() and _is_alive(owner)

    def _prepare_dir(self) -> None:
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.initialised and any(self.pgdata.iterdir()):
            raise ClusterError(
                f"{self.pgdata} is neither empty nor a PostgreSQL cluster (an interrupted"
                " first run?); remove it and start again"
            )
        if self.account is not None and self.pgdata.stat().st_uid != self.account.uid:
            _chown_tree(self.pgdata, self.account)
        self.pgdata.chmod(0o700)  # the server refuses a group- or world-readable directory

    def _initdb(self) -> None:
        log.info("initialising the embedded cluster", extra={"pgdata": str(self.pgdata)})
        result = self._run(
            "initdb", "-D", str(self.pgdata), "--auth=trust", "-U", USER,
            "--encoding=UTF8", "--locale=C",
        )  # fmt: skip
        if result.returncode != 0:
            raise ClusterError(f"initdb failed: {_last_line(result)}")

    def _start(self) -> int:
        # A free port can be taken between the probe and the bind: try another once.
        attempts = 1 if self.port else 2
        for attempt in range(attempts):
            port = self.port or free_port()
            result = self._run(
                "pg_ctl", "start", "-D", str(self.pgdata), "-w", "-t", str(_START_TIMEOUT),
                "-l", str(self.pgdata / "server.log"), "-o", self._server_options(port),
            )  # fmt: skip
            if result.returncode == 0:
                return port
            if attempt == attempts - 1:
                raise ClusterError(f"PostgreSQL did not start: {self._log_tail(result)}")
            # Also covers the children of a killed postmaster still holding shared memory.
            time.sleep(1)
        raise AssertionError("unreachable")

    def _server_options(self, port: int) -> str:
        socket_dir = str(self.pgdata) if len(str(self.pgdata)) < _SOCKET_PATH_MAX else ""
        options = {
            "port": str(port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": socket_dir,
        }
        if timescaledb_installed(self.bindir):
            options["shared_preload_libraries"] = "timescaledb"
            options["timescaledb.telemetry_level"] = "off"
        # pg_ctl hands -o to a shell, so every value is quoted for it.
        return " ".join(f"-c {shlex.quote(f'{key}={value}')}" for key, value in options.items())

    def _create_database(self, port: int) -> None:
        where = ("-h", "127.0.0.1", "-p", str(port), "-U", USER)
        exists = f"select 1 from pg_database where datname = '{DATABASE}'"
        result = self._run("psql", *where, "-d", "postgres", "-XtAc", exists)
        if result.returncode != 0:
            raise ClusterError(f"the server on port {port} does not answer: {_last_line(result)}")
        if result.stdout.strip() == "1":
            return
        result = self._run("createdb", *where, DATABASE)
        if result.returncode != 0:
            raise ClusterError(f"createdb failed: {_last_line(result)}")

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / program), *args]
        account = self.account
        # No check=True: every caller turns a failure into a ClusterError with the reason.
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=_START_TIMEOUT + 30,
            cwd="/",  # the account may not be able to enter our working directory
            env={"PATH": f"{self.bindir}:/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"},
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=list(account.groups) if account else None,
            umask=0o077,
        )

    def _log_tail(self, result: subprocess.CompletedProcess[str]) -> str:
        try:
            lines = (self.pgdata / "server.log").read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        errors = [line for line in lines if "FATAL" in line or "ERROR" in line]
        return errors[-1] if errors else _last_line(result)


def dsn(port: int) -> str:
    return f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"


def timescaledb_installed(bindir: Path) -> bool:
    """Whether the TimescaleDB library is installed for these server binaries."""
    try:
        libdir = subprocess.run(
            [str(bindir / "pg_config"), "--pkglibdir"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        libdir = str(bindir.parent / "lib")
    return (Path(libdir) / "timescaledb.so").exists()


def _is_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (killed, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but owned by another account
    name_state = _proc_name_state(pid)
    return name_state is None or name_state[1] != "Z"


def _is_postgres(pid: int) -> bool:
    if not _is_alive(pid):
        return False
    name_state = _proc_name_state(pid)
    # Without /proc we cannot tell a recycled pid apart: trust that it is the server.
    return name_state is None or name_state[0] in ("postgres", "postmaster")


def _proc_name_state(pid: int) -> tuple[str, str] | None:
    """(command name, state letter) from /proc/<pid>/stat, or None where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ...": comm may itself contain spaces and parentheses.
    name, _, rest = text.partition("(")[2].rpartition(")")
    return name, rest.strip()[:1]


def _chown_tree(root: Path, account: Account) -> None:
    for folder, _dirs, files in os.walk(root):
        os.chown(folder, account.uid, account.gid)
        for name in files:
            os.chown(os.path.join(folder, name), account.uid, account.gid)


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit code {result.returncode}"


__all__ = ["Cluster", "ClusterError", "Started"]
