"""A workshop on one machine: a real JupyterHub for the course (``python3 course.py hub``).

    python3 course.py hub --add-learners 20    # learner01 … learner20, random passwords → .hub/passwords.txt
    python3 course.py hub --password alice     # add or reset one learner, with a password you type
    python3 course.py hub                      # start on http://127.0.0.1:8000 (Ctrl+C stops everything)
    python3 course.py hub --ip 0.0.0.0         # listen on every address (only on a network you trust: plain HTTP)

What runs (all from this repository's Python, so every kernel has torch, transformers and ``utils``):

- **configurable-http-proxy** (npm, pinned in ``deploy/proxy/package-lock.json``, installed with ``npm ci`` into
  ``.hub/proxy/``, run with the system's Node) on the public address. It runs *beside* the hub, not under it, so a
  hub restart does not drop a learner's connection.
- **JupyterHub** on 127.0.0.1 behind it, restarted by this command if it dies; learners' servers outlive it
  (``cleanup_servers = False``) and it finds them again from its database.
- **One Unix account per learner**, created on first login (home folder mode 0700, locked password, marked as a
  course account), and a ``LocalProcessSpawner`` that starts the learner's Jupyter server *as that account*. Kernels
  run arbitrary code, so isolation has to come from the operating system, not from Jupyter: a learner's code cannot
  read another learner's home, and another learner's server refuses their cookie.
- **Passwords per learner**, set by the instructor, stored as scrypt hashes in ``.hub/learners.json``. JupyterHub's
  built-in ``SharedPasswordAuthenticator`` was not used: with one shared password anyone can sign in as *any* other
  learner (its own documentation says so), which would undo the isolation above.
- **Idle culling**: kernels idle past ``--kernel-idle`` minutes are shut down by the learner's server, servers idle
  past ``--server-idle`` minutes by ``jupyterhub-idle-culler`` (a hub service). Files stay in the learner's home.
- On first login each learner gets a private copy of ``lessons/`` (``--lessons build/student/lessons`` for the
  student versions) in their home; later logins never overwrite it.

State (database, secrets, roster, logs) lives in ``.hub/`` (git-ignored, mode 0700). Needs Linux, root (to create
accounts and start servers as them) and Node ≥ 20 (``apt-get install nodejs npm``).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".hub"
PROXY_SPEC = ROOT / "deploy" / "proxy"  # package.json + package-lock.json: the pinned proxy
PROXY_DIR = STATE / "proxy"  # where `npm ci` installs it
BIN = Path(sys.executable).parent  # the course's .venv/bin (or the active env with --here)
MARKER = "bert-course learner"  # the GECOS field of accounts this tool created; nothing else is touched
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MIN_PASSWORD = 8
# Defaults from the load test (docs/instructor.md, "A workshop on JupyterHub"): see there for the reasoning.
KERNEL_IDLE_MIN = 60
SERVER_IDLE_MIN = 120
CULL_EVERY_S = 300
SERVICE_NEEDLE = "jupyterhub_idle_culler"  # the hub's one managed service, stopped with the hub
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or from paper without mistakes


def say(message: str) -> None:
    print(f"[hub] {message}", flush=True)


# ---------------------------------------------------------------------------------------------------- settings

@dataclass
class Settings:
    """Everything a hub needs; written as JSON next to its database so the config file can read it back."""

    state: str = str(STATE)
    homes: str = "/home"
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    lessons: str = str(ROOT / "lessons")
    default_url: str = "/lab/tree/lessons/00_setup_check.ipynb"
    kernel_idle_s: int = KERNEL_IDLE_MIN * 60
    kernel_cull_interval_s: int = 60
    server_idle_s: int = SERVER_IDLE_MIN * 60
    cull_every_s: int = CULL_EVERY_S
    activity_interval_s: int = 300  # how often servers and the proxy report activity to the hub (JupyterHub's default)
    extra_env: dict = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return Path(self.state)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "", "::") else self.ip
        return f"http://{host}:{self.port}"

    def save(self) -> Path:
        path = self.state_dir / "settings.json"
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> Settings:
        return cls(**json.loads(Path(path).read_text()))


# ------------------------------------------------------------------------------------------------------ roster

def roster_path(state: Path) -> Path:
    return Path(state) / "learners.json"


def load_roster(state: Path) -> dict:
    path = roster_path(state)
    return json.loads(path.read_text()) if path.exists() else {}


def hash_password(password: str, salt: bytes | None = None) -> dict:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return {"salt": salt.hex(), "scrypt": digest.hex()}


def password_matches(entry: dict, password: str) -> bool:
    expected = hash_password(password, bytes.fromhex(entry["salt"]))["scrypt"]
    return hmac.compare_digest(expected, entry["scrypt"])


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ValueError(f"learner name {name!r}: use lower-case letters, digits and '-', starting with a letter "
                         "(at most 32 characters), e.g. learner01")
    owner = system_account(name)
    if owner is not None and owner.pw_gecos.split(",")[0] != MARKER:
        raise ValueError(f"{name!r} is an existing account on this machine that this course did not create; "
                         "choose another name (a learner's server runs as the account of the same name)")
    return name


def set_password(state: Path, name: str, password: str) -> None:
    check_name(name)
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    state = ensure_state(Path(state))
    roster = load_roster(state)
    roster[name] = hash_password(password)
    path = roster_path(state)
    path.write_text(json.dumps(roster, indent=1, sort_keys=True))
    path.chmod(0o600)


def new_password() -> str:
    pick = [secrets.choice(PASSWORD_ALPHABET) for _ in range(10)]
    return "".join(pick[:5]) + "-" + "".join(pick[5:])


def add_learners(state: Path, count: int, prefix: str = "learner") -> list[tuple[str, str]]:
    """Add ``count`` learners with random passwords; return (name, password) pairs (also appended to passwords.txt)."""
    if not 1 <= count <= 200:
        raise ValueError("add between 1 and 200 learners at a time")
    roster = load_roster(state)
    taken = {int(n[len(prefix):]) for n in roster if n.startswith(prefix) and n[len(prefix):].isdigit()}
    made, number = [], 1
    while len(made) < count:
        while number in taken:
            number += 1
        name, password = f"{prefix}{number:02d}", new_password()
        set_password(state, name, password)
        made.append((name, password))
        taken.add(number)
    sheet = Path(state) / "passwords.txt"
    with sheet.open("a") as out:
        out.writelines(f"{name}\t{password}\n" for name, password in made)
    sheet.chmod(0o600)
    return made


# ------------------------------------------------------------------------------------------- system accounts

def system_account(name: str):
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def ensure_account(name: str, homes: Path) -> Path:
    """Create the learner's Unix account on first login (home 0700, locked password); return the home folder."""
    account = system_account(name)
    if account is None:
        homes.mkdir(parents=True, exist_ok=True)
        homes.chmod(0o711)  # learners may pass through to their own home, never list the others
        subprocess.run(["useradd", "--create-home", "--home-dir", str(homes / name), "--shell", "/bin/bash",
                        "--user-group", "--comment", MARKER, name], check=True, capture_output=True, text=True)
        account = system_account(name)
    elif account.pw_gecos.split(",")[0] != MARKER:
        raise PermissionError(f"{name} is an account this course did not create; refusing to start a server as it")
    home = Path(account.pw_dir)
    home.mkdir(mode=0o700, exist_ok=True)
    os.chown(home, account.pw_uid, account.pw_gid)
    home.chmod(0o700)
    return home


def give_lessons(name: str, lessons: Path, home: Path) -> bool:
    """Copy the lessons into the learner's home the first time; never overwrite their edits. True when copied."""
    target = home / "lessons"
    if target.exists():
        return False
    account = system_account(name)
    shutil.copytree(lessons, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for path in [target, *target.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    return True


def remove_accounts(names, homes: Path | None = None) -> list[str]:
    """Delete course accounts (and their homes): only accounts this tool made, and whose home lies under ``homes``."""
    removed = []
    for name in names:
        account = system_account(name)
        if account is None or account.pw_gecos.split(",")[0] != MARKER:
            continue
        if homes is not None and Path(homes) not in Path(account.pw_dir).parents:
            continue
        stop_learner_processes([name])
        subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
        shutil.rmtree(account.pw_dir, ignore_errors=True)
        removed.append(name)
    return removed


def learner_processes(names) -> dict:
    """{learner name: [psutil.Process, …]} for every process running as a course account."""
    import psutil

    uids = {}
    for name in names:
        account = system_account(name)
        if account is not None and account.pw_gecos.split(",")[0] == MARKER:
            uids[account.pw_uid] = name
    found = {name: [] for name in uids.values()}
    for proc in psutil.process_iter(["uids"]):
        try:
            uid = proc.info["uids"].real if proc.info["uids"] else None
        except (psutil.Error, AttributeError):
            continue
        if uid in uids:
            found[uids[uid]].append(proc)
    return found


def stop_learner_processes(names, grace: float = 5.0) -> int:
    """Stop learners' servers and kernels, by PID: SIGTERM, then SIGKILL what is left after ``grace`` seconds."""
    import psutil

    procs = [p for group in learner_processes(names).values() for p in group]
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)
    return len(procs)


# ------------------------------------------------------------------------------------------------- the proxy

def proxy_problem() -> str | None:
    node = shutil.which("node")
    if not node:
        return "Node.js is missing: `apt-get install nodejs npm` (configurable-http-proxy needs Node >= 20)"
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    major = int(re.match(r"v(\d+)", version).group(1)) if re.match(r"v(\d+)", version) else 0
    if major < 20:
        return f"Node {version} is too old: configurable-http-proxy needs Node >= 20"
    if not shutil.which("npm"):
        return "npm is missing: `apt-get install npm`"
    return None


def proxy_script() -> Path:
    return PROXY_DIR / "node_modules" / "configurable-http-proxy" / "bin" / "configurable-http-proxy"


def install_proxy() -> Path:
    """``npm ci`` the pinned proxy into .hub/proxy/ (once per change of the lock file); return its script."""
    lock = (PROXY_SPEC / "package-lock.json").read_bytes()
    stamp = PROXY_DIR / ".installed"
    digest = hashlib.sha256(lock).hexdigest()
    if proxy_script().exists() and stamp.exists() and stamp.read_text() == digest:
        return proxy_script()
    ensure_state(STATE)
    PROXY_DIR.mkdir(exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PROXY_SPEC / name, PROXY_DIR / name)
    say("installing configurable-http-proxy (pinned in deploy/proxy/package-lock.json) into .hub/proxy/")
    done = subprocess.run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=PROXY_DIR, capture_output=True, text=True)
    if done.returncode != 0 or not proxy_script().exists():
        raise RuntimeError(f"npm ci failed in {PROXY_DIR}:\n{done.stdout}{done.stderr}")
    stamp.write_text(digest)
    return proxy_script()


# --------------------------------------------------------------------------------------------------- the hub

def learner_paths() -> list[Path]:
    """What learners' servers must reach: the interpreter behind .venv, .venv itself, the course's code and data."""
    return [Path(os.path.realpath(sys.executable)), Path(sys.base_prefix) / "lib", BIN / "jupyterhub-singleuser",
            ROOT / "utils", ROOT / "data"]


def blocked_dirs(paths) -> list[Path]:
    """Folders on the way to ``paths`` that other accounts cannot pass through (no o+x), outermost first."""
    blocked = []
    for path in paths:
        for folder in reversed(Path(path).parents):
            if folder not in blocked and not folder.stat().st_mode & 0o001:
                blocked.append(folder)
    return blocked


def open_for_learners(paths=None) -> list[tuple[str, int]]:
    """Give others pass-through permission (o+x: nothing becomes listable or readable) where the learners' servers
    need it, e.g. /root when .venv was made from a Python under /root/.pyenv. Returns what to restore."""
    changed = []
    for folder in blocked_dirs(paths or learner_paths()):
        mode = folder.stat().st_mode & 0o7777
        say(f"giving other accounts pass-through permission (o+x, not read) on {folder}, so learners' servers can "
            "run the course's Python; restored when the hub stops")
        folder.chmod(mode | 0o001)
        changed.append((str(folder), mode))
    return changed


def restore_modes(changed) -> None:
    for folder, mode in changed:
        os.chmod(folder, mode)


def ensure_state(state: Path) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)  # secrets, hashes and the proxy token: learners' kernels must not read them
    return state


def secret(state: Path, name: str) -> str:
    path = state / name
    if not path.exists():
        path.write_text(secrets.token_hex(32))
    path.chmod(0o600)
    return path.read_text().strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONFIG_TEMPLATE = '''# Written by tools/hub.py for this hub; edit tools/hub.py instead (it is rewritten at every start).
import importlib.util, sys
spec = importlib.util.spec_from_file_location("course_hub_config", {tool!r})
module = importlib.util.module_from_spec(spec)
sys.modules["course_hub_config"] = module
spec.loader.exec_module(module)
module.configure(get_config(), {settings!r})
'''


def configure(c, settings_path: str) -> None:
    """Fill JupyterHub's config object ``c`` (called from the generated jupyterhub_config.py)."""
    from jupyterhub.auth import Authenticator
    from traitlets import Unicode

    s = Settings.load(Path(settings_path))
    state = Path(s.state)

    class CourseAuthenticator(Authenticator):
        """Per-learner passwords set by the instructor (scrypt hashes in learners.json); nobody else gets in."""

        roster_file = Unicode(str(roster_path(state)), config=True).tag(allow_config=True)

        def check_allowed(self, username, authentication=None):
            return username in load_roster(Path(self.roster_file).parent)

        async def authenticate(self, handler, data):
            import asyncio

            name, password = (data or {}).get("username", ""), (data or {}).get("password", "")
            entry = load_roster(Path(self.roster_file).parent).get(self.normalize_username(name))
            if entry is None or not password:
                return None
            ok = await asyncio.to_thread(password_matches, entry, password)
            return self.normalize_username(name) if ok else None

    homes, lessons = Path(s.homes), Path(s.lessons)

    def prepare(spawner):
        home = ensure_account(spawner.user.name, homes)
        if give_lessons(spawner.user.name, lessons, home):
            spawner.log.info("gave %s a private copy of %s", spawner.user.name, lessons)

    c.JupyterHub.authenticator_class = CourseAuthenticator
    c.Authenticator.admin_users = set()
    c.JupyterHub.bind_url = f"http://{s.ip}:{s.port}"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = s.hub_port
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.cleanup_servers = False  # a hub restart must not end the learners' work
    c.JupyterHub.cleanup_proxy = False
    c.JupyterHub.last_activity_interval = s.activity_interval_s
    c.ConfigurableHTTPProxy.should_start = False  # tools/hub.py runs it beside the hub
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.ConfigurableHTTPProxy.auth_token = secret(state, "proxy_token")

    c.JupyterHub.spawner_class = "localprocess"
    c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
    c.Spawner.notebook_dir = "~"
    c.Spawner.default_url = s.default_url
    c.Spawner.pre_spawn_hook = prepare
    c.Spawner.start_timeout = 180  # a busy machine starts 20 servers slowly
    c.Spawner.http_timeout = 180
    c.Spawner.environment = {**OFFLINE_ENV, "JUPYTERHUB_ACTIVITY_INTERVAL": str(s.activity_interval_s),
                             **s.extra_env}
    c.Spawner.args = [
        f"--MappingKernelManager.cull_idle_timeout={s.kernel_idle_s}",
        f"--MappingKernelManager.cull_interval={s.kernel_cull_interval_s}",
        "--MappingKernelManager.cull_connected=True",  # an open browser tab alone does not keep a kernel
        "--MappingKernelManager.cull_busy=False",  # never kill a running cell (lesson 06 trains)
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # the default asks PyPI about extensions
    ]

    c.JupyterHub.services = [{
        "name": "idle-culler",
        "command": [str(Path(sys.executable)), "-m", SERVICE_NEEDLE, f"--timeout={s.server_idle_s}",
                    f"--cull-every={s.cull_every_s}", "--concurrency=4"],
    }]
    c.JupyterHub.load_roles = [{
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }]


class Hub:
    """The proxy and the hub as two processes this object starts and stops by PID."""

    def __init__(self, settings: Settings):
        self.s = settings
        self.state = ensure_state(settings.state_dir)
        self.proxy: subprocess.Popen | None = None
        self.hub: subprocess.Popen | None = None
        self.opened: list[tuple[str, int]] = []

    # The proxy -------------------------------------------------------------------------------------------
    def start_proxy(self) -> None:
        script = install_proxy()
        self._stop_stale("proxy.pid", "configurable-http-proxy")
        env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": secret(self.state, "proxy_token")}
        log = (self.state / "proxy.log").open("ab")
        self.proxy = subprocess.Popen(
            [shutil.which("node"), str(script), "--ip", self.s.ip, "--port", str(self.s.port),
             "--api-ip", "127.0.0.1", "--api-port", str(self.s.proxy_api_port),
             "--default-target", f"http://127.0.0.1:{self.s.hub_port}",
             "--error-target", f"http://127.0.0.1:{self.s.hub_port}/hub/error", "--log-level", "warn"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.state)
        (self.state / "proxy.pid").write_text(str(self.proxy.pid))
        wait_for(lambda: port_open(self.s.proxy_api_port), 30, "the proxy's API port")

    def start_hub(self, timeout: float = 120) -> None:
        self._stop_stale("hub.pid", "jupyterhub")
        self._stop_services(self._services())  # a culler orphaned by a hub that died
        config = self.state / "jupyterhub_config.py"
        config.write_text(CONFIG_TEMPLATE.format(tool=str(Path(__file__).resolve()), settings=str(self.s.save())))
        log = (self.state / "hub.log").open("ab")
        self.hub = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.state,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                    env={**os.environ, **OFFLINE_ENV})
        (self.state / "hub.pid").write_text(str(self.hub.pid))
        wait_for(lambda: self.healthy() or self._died(), timeout, "the hub to answer through the proxy")
        if self._died():
            raise RuntimeError(f"the hub exited (code {self.hub.returncode}); see {self.state / 'hub.log'}:\n"
                               + tail(self.state / "hub.log"))
        self._remember_services()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.s.url}/hub/health", timeout=5) as reply:
                return reply.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def _died(self) -> bool:
        return self.hub is not None and self.hub.poll() is not None

    def stop_hub(self, sig=signal.SIGTERM) -> None:
        """Stop the hub and its managed services (the idle culler); learners' servers keep running."""
        services = self._services()
        stop(self.hub, sig)
        self.hub = None
        self._stop_services(services)

    def _services(self) -> list:
        """The hub's managed services now running, by PID (a killed hub would leave them orphaned)."""
        import psutil

        found = []
        pid_file = self.state / "services.pid"
        pids = [int(p) for p in pid_file.read_text().split()] if pid_file.exists() else []
        if self.hub is not None and self.hub.poll() is None:
            try:
                pids += [child.pid for child in psutil.Process(self.hub.pid).children(recursive=True)]
            except psutil.Error:
                pass
        for pid in dict.fromkeys(pids):
            try:
                proc = psutil.Process(pid)
                if any(SERVICE_NEEDLE in part for part in proc.cmdline()):
                    found.append(proc)
            except psutil.Error:
                pass
        return found

    def _stop_services(self, services) -> None:
        import psutil

        for proc in services:
            try:
                proc.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(services, timeout=10)
        for proc in alive:
            try:
                proc.kill()
            except psutil.Error:
                pass
        (self.state / "services.pid").unlink(missing_ok=True)

    def _remember_services(self, timeout: float = 20) -> None:
        """Write the services' PIDs next to hub.pid, so a later stop finds them even if the hub was killed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            services = self._services()
            if services:
                (self.state / "services.pid").write_text(" ".join(str(p.pid) for p in services))
                return
            time.sleep(0.5)

    def stop_proxy(self) -> None:
        stop(self.proxy)
        self.proxy = None

    def start(self) -> None:
        self.opened += open_for_learners([*learner_paths(), Path(self.s.homes)])
        self.start_proxy()
        self.start_hub()

    def close(self, learners=()) -> None:
        """Stop the hub, the proxy and (given their names) the learners' servers and kernels."""
        self.stop_hub()
        self.stop_proxy()
        if learners:
            stop_learner_processes(learners)
            restore_modes(self.opened)
            self.opened = []

    def _stop_stale(self, pid_file: str, needle: str) -> None:
        """A proxy or hub left by a killed earlier run of this state folder: stop it (PID checked by cmdline)."""
        import psutil

        path = self.state / pid_file
        if not path.exists():
            return
        try:
            proc = psutil.Process(int(path.read_text()))
            if any(needle in part for part in proc.cmdline()) and str(self.state) in " ".join(
                    [proc.cwd(), *proc.cmdline()]):
                proc.terminate()
                proc.wait(10)
        except (ValueError, psutil.Error):
            pass
        path.unlink(missing_ok=True)


def stop(proc: subprocess.Popen | None, sig=signal.SIGTERM, grace: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def problem() -> str | None:
    """Why a hub cannot run on this machine (None when it can)."""
    if not sys.platform.startswith("linux"):
        return "the one-machine hub needs Linux (one Unix account per learner)"
    if os.geteuid() != 0:
        return "the hub must run as root: it creates one account per learner and starts their servers as them"
    for tool in ("useradd", "userdel"):
        if not shutil.which(tool):
            return f"{tool} is missing (package passwd)"
    if not (BIN / "jupyterhub-singleuser").exists():
        return f"jupyterhub is not installed in {BIN.parent}: run `python3 course.py setup`"
    return proxy_problem()


# ------------------------------------------------------------------------------------------------ the command

def serve(settings: Settings, keep_servers: bool = False) -> int:
    """Run the proxy and the hub until Ctrl+C; restart the hub if it dies (servers and proxy keep running)."""
    roster = load_roster(settings.state_dir)
    if not roster:
        say("refusing to start: no learner has a password yet, so nobody could sign in (and nobody else should).")
        say("add some:  python3 course.py hub --add-learners 20   (or --password NAME to choose one)")
        return 2
    hub = Hub(settings)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        hub.start()
        say(f"JupyterHub for {len(roster)} learner(s) at {settings.url}/  (state and logs: {hub.state})")
        if settings.ip not in ("127.0.0.1", "localhost", "::1"):
            say(f"listening on {settings.ip}: plain HTTP, so use it only on a network you trust (or put TLS in front)")
        say("Ctrl+C stops the hub, the proxy and every learner's server; learners' files stay in their homes.")
        restarts = []
        while not stopping:
            time.sleep(2)
            if hub.proxy.poll() is not None:
                say("the proxy stopped; starting it again, then the hub (which re-adds the learners' routes)")
                hub.stop_hub()
                hub.start()
            elif hub.hub.poll() is not None:
                restarts = [t for t in restarts if time.monotonic() - t < 600] + [time.monotonic()]
                if len(restarts) > 5:
                    say(f"the hub died 6 times in 10 minutes; giving up. Log: {hub.state / 'hub.log'}")
                    return 1
                say(f"the hub exited (code {hub.hub.returncode}); restarting it. Learners' servers keep running.")
                hub.start_hub()
    except KeyboardInterrupt:
        pass
    finally:
        say("stopping the hub and the proxy" + ("" if keep_servers else " and the learners' servers"))
        hub.close(() if keep_servers else list(load_roster(settings.state_dir)))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 course.py hub", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--add-learners", type=int, metavar="N", help="add N learners with random passwords")
    parser.add_argument("--prefix", default="learner", help="name prefix for --add-learners (default: learner)")
    parser.add_argument("--password", metavar="NAME", help="add learner NAME, or reset their password (prompted)")
    parser.add_argument("--list", action="store_true", help="list the learners who can sign in")
    parser.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--homes", default="/home", help="parent folder of learners' homes (default /home)")
    parser.add_argument("--lessons", default=str(ROOT / "lessons"),
                        help="folder copied to each learner at first login, e.g. build/student/lessons")
    parser.add_argument("--kernel-idle", type=float, default=KERNEL_IDLE_MIN, metavar="MIN",
                        help=f"shut down kernels idle this many minutes (default {KERNEL_IDLE_MIN})")
    parser.add_argument("--server-idle", type=float, default=SERVER_IDLE_MIN, metavar="MIN",
                        help=f"stop servers idle this many minutes (default {SERVER_IDLE_MIN})")
    parser.add_argument("--keep-servers", action="store_true", help="on Ctrl+C leave learners' servers running")
    args = parser.parse_args(argv)
    state = STATE
    try:
        if args.password:
            first = getpass.getpass(f"password for {args.password}: ")
            if getpass.getpass("again: ") != first:
                say("the two passwords differ; nothing changed")
                return 2
            set_password(state, args.password, first)
            say(f"{args.password} can sign in with that password")
        if args.add_learners:
            made = add_learners(state, args.add_learners, args.prefix)
            say(f"added {len(made)} learner(s): {made[0][0]} … {made[-1][0]}; names and passwords to hand out "
                f"are in {state / 'passwords.txt'} (readable by root only)")
    except ValueError as exc:
        say(str(exc))
        return 2
    if args.list:
        print("\n".join(sorted(load_roster(state))) or "(no learners yet)")
    if args.password or args.add_learners or args.list:
        return 0
    why = problem()
    if why:
        say(f"cannot start: {why}")
        return 2
    lessons = Path(args.lessons).resolve()
    if not lessons.is_dir():
        say(f"no lessons folder at {lessons} (for the student versions run `python3 course.py student` first)")
        return 2
    settings = Settings(state=str(state), ip=args.ip, port=args.port, homes=str(Path(args.homes).resolve()),
                        lessons=str(lessons), kernel_idle_s=round(args.kernel_idle * 60),
                        server_idle_s=round(args.server_idle * 60))
    return serve(settings, keep_servers=args.keep_servers)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
