"""The embedded PostgreSQL manager behind `tokenpulse demo`, with real server binaries:
first start, reuse of a running server, recovery after a killed server, root handling."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import ClusterError
from app.store import cluster
from tests.e2e import helpers

ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def reachable_dir() -> Iterator[Path]:
    """A directory the server account can reach (pytest's own tmp dirs are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="tokenpulse-cluster-test-", dir="/var/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def embedded(reachable_dir: Path) -> Iterator[cluster.Cluster]:
    """One initialised cluster for the module (initdb is the slow part); stopped at the end."""
    pgdata, note = cluster.locate(reachable_dir, cluster.run_as())
    assert note is None
    db = cluster.Cluster(pgdata)
    yield db
    db.stop()


def query(started: cluster.Started, sql: str) -> str:
    psql = cluster.server_bindir() / "psql"
    done = subprocess.run(
        [str(psql), started.dsn, "-XtAc", sql], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def postmaster_pid(db: cluster.Cluster) -> int:
    return int((db.pgdata / "postmaster.pid").read_text().split()[0])


@pytest.mark.slow
def test_first_start_initialises_then_a_running_server_is_reused(
    embedded: cluster.Cluster,
) -> None:
    first = embedded.start()
    assert (first.initialised, first.reused, first.shared) == (True, False, False)
    assert query(first, "select current_user || ' ' || current_database()") == (
        "tokenpulse tokenpulse"
    )
    assert query(first, "show listen_addresses") == "127.0.0.1"
    again = embedded.start()
    assert (again.initialised, again.reused, again.port) == (False, True, first.port)
    assert postmaster_pid(embedded) in helpers.processes_mentioning(str(embedded.pgdata))


@pytest.mark.slow
def test_timescaledb_is_preloaded_when_installed(embedded: cluster.Cluster) -> None:
    started = embedded.start()
    preload = query(started, "show shared_preload_libraries")
    installed = cluster.timescaledb_installed(embedded.bindir)
    assert ("timescaledb" in preload) is installed
    if installed:
        assert query(started, "show timescaledb.telemetry_level") == "off"


@pytest.mark.slow
def test_start_after_the_server_was_killed(embedded: cluster.Cluster) -> None:
    embedded.start()
    pid = postmaster_pid(embedded)
    os.kill(pid, signal.SIGKILL)
    helpers.wait_until(lambda: embedded.running_port() is None, 10, "the kill to be noticed")
    restarted = embedded.start()  # the stale postmaster.pid must not stop it
    assert (restarted.initialised, restarted.reused) == (False, False)
    assert query(restarted, "select 1") == "1"
    assert postmaster_pid(embedded) != pid


@pytest.mark.slow
def test_a_pid_file_naming_another_program_is_stale(embedded: cluster.Cluster) -> None:
    embedded.stop()
    # A recycled pid: alive, but not a postgres process (it is this test runner).
    (embedded.pgdata / "postmaster.pid").write_text(f"{os.getpid()}\n{embedded.pgdata}\n0\n5432\n")
    assert embedded.running_port() is None
    assert not (embedded.pgdata / "postmaster.pid").exists()
    assert query(embedded.start(), "select 1") == "1"


def zombie() -> subprocess.Popen[bytes]:
    """A child that exited and is not reaped yet (like a SIGKILLed demo); wait() it after."""
    child = subprocess.Popen(["true"])
    stat_file = Path(f"/proc/{child.pid}/stat")
    helpers.wait_until(lambda: stat_file.read_text().split(") ")[1].startswith("Z"), 5, "a zombie")
    return child


@pytest.mark.slow
def test_a_running_server_is_left_up_only_for_a_live_owner(embedded: cluster.Cluster) -> None:
    embedded.start()
    owner_file = embedded.pgdata / cluster.OWNER_FILE
    with subprocess.Popen(["sleep", "30"]) as other_demo:
        owner_file.write_text(f"{other_demo.pid}\n")
        assert embedded.start().shared  # another live process started it: leave it running
        other_demo.kill()
    dead = zombie()
    owner_file.write_text(f"{dead.pid}\n")
    again = embedded.start()
    dead.wait()
    assert (again.reused, again.shared) == (True, False)  # adopted: we stop it at exit
    assert owner_file.read_text() == f"{os.getpid()}\n"


@pytest.mark.slow
def test_stop_leaves_nothing_running(embedded: cluster.Cluster) -> None:
    embedded.start()
    embedded.stop()
    assert embedded.running_port() is None
    assert helpers.processes_mentioning(str(embedded.pgdata)) == []
    embedded.stop()  # stopping a stopped cluster is a no-op


@pytest.mark.skipif(not ROOT, reason="root handling only applies when running as root")
def test_as_root_the_cluster_belongs_to_the_postgres_account(embedded: cluster.Cluster) -> None:
    embedded.start()
    account = cluster.run_as()
    assert account is not None
    info = embedded.pgdata.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (account.uid, 0o700)
    owner = Path(f"/proc/{postmaster_pid(embedded)}/status").read_text()
    assert f"Uid:\t{account.uid}\t" in owner


def test_missing_server_binaries_say_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cluster.shutil, "which", lambda name: None)
    monkeypatch.setattr(cluster, "SERVER_ROOT", tmp_path)
    with pytest.raises(ClusterError) as caught:
        cluster.server_bindir()
    assert "apt-get install postgresql" in caught.value.message
    assert "\n" not in caught.value.message


def test_newest_server_version_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for version in ("9.6", "15", "13"):
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        (bindir / "pg_ctl").touch()
        (bindir / "initdb").touch()
    monkeypatch.setattr(cluster.shutil, "which", lambda name: None)
    monkeypatch.setattr(cluster, "SERVER_ROOT", tmp_path)
    assert cluster.server_bindir() == tmp_path / "15" / "bin"


def outsider() -> cluster.Account:
    """An account that owns nothing here and is in none of our groups."""
    return cluster.Account("outsider", uid=os.geteuid() + 4242, gid=4242, groups=(4242,))


def test_locate_keeps_a_reachable_data_dir(reachable_dir: Path) -> None:
    home = reachable_dir / "kept"
    assert cluster.locate(home, outsider()) == (home / "pg", None)
    assert cluster.locate(home, None) == (home / "pg", None)
    assert home.is_dir()


def test_locate_falls_back_when_the_account_cannot_reach_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "private" / "data"
    home.mkdir(parents=True)
    (tmp_path / "private").chmod(0o700)  # like /root
    monkeypatch.setattr(cluster, "FALLBACK_ROOT", tmp_path / "var")
    (tmp_path / "var").mkdir()
    pgdata, note = cluster.locate(home, outsider())
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    assert pgdata == tmp_path / "var" / f"tokenpulse-{digest}" / "pg"
    assert note is not None
    assert "\n" not in note
    assert str(pgdata) in note
    assert cluster.locate(home, outsider())[0] == pgdata  # stable: a second run finds it


def test_locate_refuses_a_planted_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = tmp_path / "private" / "data"
    home.mkdir(parents=True)
    (tmp_path / "private").chmod(0o700)
    monkeypatch.setattr(cluster, "FALLBACK_ROOT", tmp_path / "var")
    (tmp_path / "var").mkdir()
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    (tmp_path / "var" / f"tokenpulse-{digest}").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ClusterError, match="not a directory owned by us"):
        cluster.locate(home, outsider())


def test_can_traverse_follows_owner_group_and_other_bits(reachable_dir: Path) -> None:
    folder = reachable_dir / "modes"
    folder.mkdir()
    me = cluster.Account("me", uid=os.geteuid(), gid=os.getegid(), groups=())
    member = cluster.Account("member", uid=os.geteuid() + 4242, gid=4243, groups=(os.getegid(),))
    folder.chmod(0o700)
    assert cluster.can_traverse(folder, me)
    assert not cluster.can_traverse(folder, member)
    assert not cluster.can_traverse(folder, outsider())
    folder.chmod(0o710)
    assert cluster.can_traverse(folder, member)
    assert not cluster.can_traverse(folder, outsider())
    folder.chmod(0o701)
    assert cluster.can_traverse(folder, outsider())
