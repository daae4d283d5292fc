"""``EmbeddedAgent``: the agent on a background thread, for notebooks, tests and the CLI.

This module imports nothing heavy at import time: Starlette, uvicorn and the policy engine
are loaded in ``start()``, so ``import axonflow_notebook.agent`` stays cheap for a notebook.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from typing import Optional


class AgentConfigError(ValueError):
    """The agent cannot start as configured (bad file, unsafe address); says why in one line."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_components(
    db_path: str, policies: Optional[str], auth: Optional[str], host: str, secret: Optional[str] = None
):
    """Engine, store, auth and budgets, validated; raises AgentConfigError with a one-line reason.

    The policy file's ``budgets:`` section is validated with its policies (every problem of
    both in one error) and put in force in a ``BudgetLedger`` on the store's database.
    """
    from .auth import AuthFileError, load_auth
    from .budgets.ledger import BudgetLedger
    from .budgets.policy_file import check_budget_ids, load_policy_path
    from .policy import PolicyFileError
    from .store import Store

    try:
        access = load_auth(os.fspath(auth) if auth is not None else None, secret)
    except AuthFileError as exc:
        raise AgentConfigError(str(exc)) from None
    if not access.enforced and not is_loopback(host):
        raise AgentConfigError(
            f"refusing to listen on {host}: without --auth the agent is one user's local agent "
            "(self-approval allowed) and only binds a loopback address; "
            "pass --auth FILE to serve other machines"
        )
    try:
        engine, file_budgets = load_policy_path(os.fspath(policies) if policies is not None else None)
    except PolicyFileError as exc:
        raise AgentConfigError(str(exc)) from None
    try:
        store = Store(db_path)
    except Exception as exc:  # sqlite3.Error, OSError: an unusable database path
        raise AgentConfigError(f"database {db_path}: cannot open it ({exc})") from None
    try:
        ledger = BudgetLedger.open(db_path)
    except Exception as exc:  # sqlite3.Error, OSError
        store.close()
        raise AgentConfigError(f"database {db_path}: cannot open its budget tables ({exc})") from None
    try:
        check_budget_ids(ledger, file_budgets, os.fspath(policies) if policies is not None else "")
    except PolicyFileError as exc:
        ledger.close()
        store.close()
        raise AgentConfigError(str(exc)) from None
    ledger.replace_file_budgets(file_budgets)
    return engine, store, access, ledger


KEEP_ALIVE_SECONDS = 65


def uvicorn_config(app, **extra):
    """The one uvicorn configuration the agent (and the benchmark's bare route) use."""
    import uvicorn

    return uvicorn.Config(
        app,
        loop="auto",  # uvloop when installed
        http="auto",  # httptools when installed
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=3,
        # Idle keep-alive connections outlive the clients' (httpx drops its own after 5 s): with
        # uvicorn's 5 s too, a client reusing a connection as the server closes it gets
        # "Server disconnected", which the SDK does not retry.
        timeout_keep_alive=extra.pop("timeout_keep_alive", KEEP_ALIVE_SECONDS),
        **extra,
    )


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise AgentConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class EmbeddedAgent:
    """An AxonFlow-compatible agent served by uvicorn on a daemon thread.

    ``policies`` and ``auth`` are file paths, exactly like the CLI's ``--policies`` and
    ``--auth``. With ``db_path=None`` the store is a temporary SQLite file that is deleted
    by ``stop()``; pass a path to keep the trail and the queue across restarts.

    Without ``auth`` the agent requires a secret on every request but ``GET /health``: the
    Basic password must be ``agent.secret`` (generated when not given; the Basic username
    still names the client). ``require_secret=False`` turns that off, for a throwaway
    sandbox only: then any local process can read the trail and approve requests.
    """

    def __init__(
        self,
        port: int = 0,
        db_path: Optional[str] = None,
        policies: Optional[str] = None,
        auth: Optional[str] = None,
        host: str = "127.0.0.1",
        *,
        secret: Optional[str] = None,
        require_secret: bool = True,
    ) -> None:
        if secret is not None and (auth is not None or not require_secret):
            raise AgentConfigError(
                "a secret is only used without --auth and with require_secret=True; "
                "drop the secret or the other setting"
            )
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise AgentConfigError("the agent's secret must be a non-empty string")
        self.host = host
        self.port = port
        self.db_path = os.fspath(db_path) if db_path is not None else None
        self.policies = policies
        self.auth = auth
        self._secret: Optional[str] = None
        if auth is None and require_secret:
            self._secret = secret if secret is not None else secrets.token_urlsafe(32)
        self._state = None
        self._server = None
        self._thread: Optional[threading.Thread] = None
        self._store = None
        self._ledger = None
        self._tmpdir: Optional[str] = None
        self._error: Optional[BaseException] = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the agent is not running; call start() first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def secret(self) -> Optional[str]:
        """The Basic password this agent requires; None with ``auth`` or ``require_secret=False``."""
        return self._secret

    @property
    def state(self):
        """The running app's shared state (engine in force, activity); None when stopped."""
        return self._state

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 15.0) -> "EmbeddedAgent":
        """Serve in the background; returns once the socket accepts connections."""
        with self._lock:
            if self._server is not None:
                return self
            db_path = self.db_path
            if db_path is None:
                self._tmpdir = tempfile.mkdtemp(prefix="axonflow-agent-")  # created 0700
                db_path = os.path.join(self._tmpdir, "agent.db")
            try:
                engine, store, access, ledger = load_components(
                    db_path, self.policies, self.auth, self.host, self._secret
                )
            except BaseException:
                self._cleanup_tmp()
                raise
            import uvicorn

            from .app import build_app

            try:
                sock = bind_socket(self.host, self.port)
            except BaseException:
                ledger.close()
                store.close()
                self._cleanup_tmp()
                raise
            self.port = sock.getsockname()[1]
            source = os.fspath(self.policies) if self.policies is not None else None
            app = build_app(engine, store, access, source, budgets=ledger)
            server = uvicorn.Server(uvicorn_config(app))
            self._store, self._state, self._ledger = store, app.state, ledger

            def run() -> None:
                try:
                    server.run(sockets=[sock])
                except BaseException as exc:  # surfaced by start() / stop()
                    self._error = exc
                finally:
                    sock.close()

            thread = threading.Thread(target=run, name=f"axonflow-agent:{self.port}", daemon=True)
            self._server, self._thread = server, thread
            thread.start()
            deadline = time.monotonic() + timeout
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    error = self._error
                    self._stop_locked()
                    raise RuntimeError(f"the embedded agent did not start: {error!r}")
                time.sleep(0.005)
            return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving, join the thread, close the store. Safe to call twice."""
        with self._lock:
            self._stop_locked(timeout)

    def _stop_locked(self, timeout: float = 10.0) -> None:
        server, thread, store, ledger = self._server, self._thread, self._store, self._ledger
        self._server = self._thread = self._store = self._state = self._ledger = None
        if server is not None:
            server.should_exit = True
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout)
        if ledger is not None:
            ledger.close()
        if store is not None:
            store.close()
        self._cleanup_tmp()

    def _cleanup_tmp(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "EmbeddedAgent":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        if self.auth is not None:
            mode = "clients from an auth file"
        elif self._secret is not None:
            mode = "secret required"
        else:
            mode = "no secret (insecure)"
        return f"EmbeddedAgent({where}, {mode})"
