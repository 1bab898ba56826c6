"""Load test of the one-machine hub (tools/hub.py): N learners at once, as browsers would, plus four faults.

    .venv/bin/python tools/hub_load.py                       # 8 learners, lesson 00, faults on (as root, Linux)
    .venv/bin/python tools/hub_load.py --learners 2 --json artifacts/hub_load.json

Everything runs on this machine and talks only to 127.0.0.1. It starts its own hub in a temporary folder (homes,
state) with namespaced accounts (``hl<random>-NN``), and removes them, their processes and the folder at the end.
Bounded: at most 32 learners, a wall-clock limit (``--time-limit``), a timeout on every request and cell.

Each simulated learner, through the proxy: signs in with their password, starts their server, opens the lesson and
saves an edit to it (a note cell, as a learner typing would), starts a kernel (REST ``/api/sessions``) and runs the
lesson's code cells one by one over the kernel websocket (Jupyter's JSON protocol, as JupyterLab sends it), then
moves the lesson's explorer: it sends the ``comm_msg`` "update" that JupyterLab sends when a slider is dragged, and
waits until the kernel has redrawn (other widgets' updates arrive). First one learner runs alone (the baseline),
then all N at once.

Faults (``--no-faults`` to skip): a wrong password is refused; learner A asking for learner B's server through
the proxy is refused, and A's kernel cannot read B's home; learner 1's kernel is killed (SIGKILL) mid-lesson while
the others go on, then learner 1 restarts it, runs the lesson again, and finds their saved edit intact; the hub is
stopped and started again while servers run: servers keep their PIDs, answer through the proxy while the hub is
down, and learners reconnect to their kernels. ``--cull-check`` then sets culling to seconds and checks that idle
kernels and servers are stopped.

Memory is PSS (psutil, shared pages split between processes), sampled every 2 s: the hub (with its culler service),
the proxy, and per learner everything running as that learner (server + kernels).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hub as hubtool  # noqa: E402

ROOT = hubtool.ROOT
ARTIFACTS = ROOT / "artifacts" / "hub_load"  # the hub's log lands here when something failed
MAX_LEARNERS = 32
CELL_TIMEOUT = 300
REQUEST_TIMEOUT = 60
NOTE = "Note by {name}: my own edit, saved before the kernel started."


# ------------------------------------------------------------------------------------------------- a learner

class Failed(Exception):
    pass


@dataclass
class Learner:
    name: str
    password: str
    url: str  # the proxy, e.g. http://127.0.0.1:8000
    lesson: str  # path inside the learner's home, e.g. lessons/00_setup_check.ipynb
    cells: list
    deadline: float
    session: requests.Session = field(default_factory=requests.Session)
    kernel_id: str = ""
    ws: websocket.WebSocket | None = None
    widgets: dict = field(default_factory=dict)  # comm_id -> state, from comm_open messages
    times: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    explorer_ms: list = field(default_factory=list)

    # HTTP, as a browser: cookies kept, redirects followed, _xsrf sent back on writes ----------------------
    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        self._check_time()
        headers = kwargs.pop("headers", {})
        if method != "GET":
            base = "/hub/" if path.startswith("/hub/") else f"/user/{self.name}/"
            token = self.xsrf(base)
            if token:
                headers["X-XSRFToken"] = token
        return self.session.request(method, self.url + path, headers=headers, timeout=REQUEST_TIMEOUT, **kwargs)

    def xsrf(self, path: str) -> str | None:
        matches = [c for c in self.session.cookies if c.name == "_xsrf" and path.startswith(c.path or "/")]
        return max(matches, key=lambda c: len(c.path or "")).value if matches else None

    def _check_time(self):
        if time.monotonic() > self.deadline:
            raise Failed("time limit reached")

    def login(self, password: str | None = None) -> int:
        self.request("GET", "/hub/login")
        reply = self.request("POST", "/hub/login", allow_redirects=False,
                             data={"username": self.name, "password": password or self.password,
                                   "_xsrf": self.xsrf("/hub/") or ""})
        return reply.status_code

    def start_server(self) -> None:
        start = time.monotonic()
        reply = self.request("POST", f"/hub/api/users/{self.name}/server")
        if reply.status_code not in (201, 202, 400):  # 400: already running
            raise Failed(f"starting the server: HTTP {reply.status_code} {reply.text[:200]}")
        while True:
            state = self.request("GET", f"/hub/api/users/{self.name}").json()
            server = state.get("servers", {}).get("")
            if server and server.get("ready"):
                break
            if not server and time.monotonic() - start > 10:
                raise Failed("the server stopped while starting (see the hub's log)")
            time.sleep(0.5)
        reply = self.request("GET", f"/user/{self.name}/lab")  # OAuth round trip, sets the server's cookies
        if reply.status_code != 200:
            raise Failed(f"opening JupyterLab: HTTP {reply.status_code}")
        self.times["server_start_s"] = time.monotonic() - start

    # the notebook ------------------------------------------------------------------------------------------
    def contents(self, path: str | None = None) -> dict:
        reply = self.request("GET", f"/user/{self.name}/api/contents/{path or self.lesson}?content=1")
        if reply.status_code != 200:
            raise Failed(f"reading {path or self.lesson}: HTTP {reply.status_code}")
        return reply.json()

    def save_edit(self) -> None:
        model = self.contents()
        note = {"cell_type": "markdown", "id": uuid.uuid4().hex[:8], "metadata": {},
                "source": NOTE.format(name=self.name)}
        model["content"]["cells"].insert(1, note)
        reply = self.request("PUT", f"/user/{self.name}/api/contents/{self.lesson}",
                             json={"type": "notebook", "format": "json", "content": model["content"]})
        if reply.status_code != 200:
            raise Failed(f"saving the notebook: HTTP {reply.status_code}")

    def edit_is_intact(self) -> bool:
        cells = self.contents()["content"]["cells"]
        return any(NOTE.format(name=self.name) in "".join(c["source"]) for c in cells)

    # the kernel ----------------------------------------------------------------------------------------------
    def open_kernel(self) -> None:
        reply = self.request("POST", f"/user/{self.name}/api/sessions",
                             json={"path": self.lesson, "type": "notebook", "name": Path(self.lesson).name,
                                   "kernel": {"name": "python3"}})
        if reply.status_code not in (200, 201):
            raise Failed(f"starting a kernel: HTTP {reply.status_code} {reply.text[:200]}")
        self.kernel_id = reply.json()["kernel"]["id"]
        self.connect()

    def connect(self) -> None:
        if self.ws is not None:
            self.ws.close()
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies
                            if (c.path or "/").startswith(f"/user/{self.name}/") or c.path in ("/", ""))
        ws_url = self.url.replace("http://", "ws://") + \
            f"/user/{self.name}/api/kernels/{self.kernel_id}/channels?session_id={uuid.uuid4().hex}"
        self.ws = websocket.create_connection(ws_url, timeout=REQUEST_TIMEOUT, origin=self.url,
                                              header=[f"Cookie: {cookies}"])

    def send(self, msg_type: str, content: dict) -> str:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": self.name, "session": self.kernel_id,
                       "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}))
        return msg_id

    def wait(self, msg_id: str, timeout: float = CELL_TIMEOUT) -> list:
        """Messages answering ``msg_id`` until the kernel is idle again and the reply came; raises on a dead kernel."""
        got, idle, replied = [], False, False
        end = min(time.monotonic() + timeout, self.deadline)
        while not (idle and replied):
            if time.monotonic() > end:
                raise Failed("no answer from the kernel in time")
            self.ws.settimeout(max(0.5, end - time.monotonic()))
            msg = json.loads(self.ws.recv())
            kind, content = msg.get("msg_type") or msg["header"]["msg_type"], msg.get("content", {})
            if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
                self.widgets[content["comm_id"]] = content.get("data", {}).get("state", {})
            if kind == "status" and content.get("execution_state") in ("restarting", "dead"):
                raise Failed(f"kernel {content['execution_state']}")
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            got.append(msg)
            idle |= kind == "status" and content.get("execution_state") == "idle"
            replied |= kind.endswith("_reply") or msg_id.startswith("comm-")
        return got

    def execute(self, code: str) -> list:
        msgs = self.wait(self.send("execute_request", {"code": code, "silent": False, "store_history": True,
                                                        "user_expressions": {}, "allow_stdin": False,
                                                        "stop_on_error": True}))
        for msg in msgs:
            if msg["msg_type"] == "error" or (msg["msg_type"] == "execute_reply"
                                              and msg["content"].get("status") != "ok"):
                raise Failed(f"cell failed: {msg['content'].get('ename')}: {msg['content'].get('evalue')}")
        return msgs

    def run_lesson(self, on_cell=None) -> float:
        start = time.monotonic()
        for index, code in enumerate(self.cells):
            if on_cell:
                on_cell(self, index)
            self.execute(code)
        return time.monotonic() - start

    def move_explorer(self) -> bool:
        """Drag the first slider (or change the first dropdown / text box), as JupyterLab does: a comm_msg update."""
        for comm_id, state in self.widgets.items():
            model = state.get("_model_name", "")
            if model in ("IntSliderModel", "FloatSliderModel"):
                value = state["value"] + state.get("step", 1)
                change = {"value": value if value <= state["max"] else state["min"]}
            elif model == "DropdownModel" and state.get("_options_labels"):
                change = {"index": ((state.get("index") or 0) + 1) % len(state["_options_labels"])}
            elif model in ("TextModel", "TextareaModel"):
                change = {"value": "The cat sat on the mat."}
            else:
                continue
            start = time.monotonic()
            msg_id = self.send("comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": change,
                                                                         "buffer_paths": []}})
            msgs = self._wait_idle(msg_id)
            state.update(change)
            self.explorer_ms.append(1000 * (time.monotonic() - start))
            redrawn = [m for m in msgs if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] != comm_id]
            return bool(redrawn)
        return False

    def _wait_idle(self, msg_id: str, timeout: float = 60) -> list:
        got, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            self.ws.settimeout(max(0.5, end - time.monotonic()))
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            got.append(msg)
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                return got
        raise Failed("the explorer did not answer")

    def restart_kernel(self) -> None:
        """What a learner does after a crash: Kernel → Restart Kernel (then Run All)."""
        end = time.monotonic() + 60
        while True:  # the server notices the dead kernel and restarts it on its own; then we ask again, as a learner
            reply = self.request("POST", f"/user/{self.name}/api/kernels/{self.kernel_id}/restart")
            if reply.status_code == 200:
                break
            if time.monotonic() > end:
                raise Failed(f"restarting the kernel: HTTP {reply.status_code}")
            time.sleep(1)
        self.connect()


def code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


# ---------------------------------------------------------------------------------------------------- memory

class Memory(threading.Thread):
    """Samples PSS every ``every`` seconds: hub (+ children), proxy, each learner's processes; keeps the maxima."""

    def __init__(self, hub: hubtool.Hub, names: list[str], every: float = 2.0):
        super().__init__(daemon=True)
        self.hub, self.names, self.every = hub, names, every
        self.peak: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.done = threading.Event()

    @staticmethod
    def pss(procs) -> float:
        total = 0
        for proc in procs:
            try:
                total += proc.memory_full_info().pss
            except psutil.Error:
                pass
        return total / 2**20

    def sample(self) -> dict:
        out = {}
        for role, popen in (("hub", self.hub.hub), ("proxy", self.hub.proxy)):
            if popen is not None and popen.poll() is None:
                try:  # the hub's own children (the culler service), not the learners' servers it spawned
                    proc = psutil.Process(popen.pid)
                    mine = [p for p in proc.children(recursive=True) if p.uids().real == proc.uids().real]
                    out[role] = self.pss([proc, *mine])
                except psutil.Error:
                    pass
        for name, procs in hubtool.learner_processes(self.names).items():
            if procs:
                out[name] = self.pss(procs)
                out[f"{name}:rss"] = sum(rss(p) for p in procs) / 2**20
                out[f"{name}:server"] = self.pss([p for p in procs if is_server(p)])
        return out

    def run(self):
        while not self.done.wait(self.every):
            self.last = self.sample()
            for key, value in self.last.items():
                self.peak[key] = max(self.peak.get(key, 0.0), value)


# -------------------------------------------------------------------------------------------------- the test

def percentile(values, q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    rank = q * (len(values) - 1)
    low = int(rank)
    return values[low] + (values[min(low + 1, len(values) - 1)] - values[low]) * (rank - low)


def learner_session(learner: Learner, results: dict, on_cell=None, fault=None) -> None:
    try:
        t0 = time.monotonic()
        if learner.login() != 302:
            raise Failed("the right password was refused")
        learner.start_server()
        learner.save_edit()
        learner.open_kernel()
        start = time.monotonic()
        try:
            learner.run_lesson(on_cell)
        except Failed as exc:
            if fault is None or "kernel" not in str(exc):
                raise
            fault["seen"] = str(exc)
            learner.restart_kernel()  # what the learner does: restart, run all again
            learner.widgets = {}
            learner.run_lesson()
            fault["rerun_ok"] = True
        learner.times["lesson_s"] = time.monotonic() - start
        learner.times["explorer_redrawn"] = learner.move_explorer()
        learner.times["total_s"] = time.monotonic() - t0
        if fault is not None:
            fault["edit_intact"] = learner.edit_is_intact()
    except (Failed, OSError, requests.RequestException, websocket.WebSocketException, KeyError, ValueError) as exc:
        learner.errors.append(f"{type(exc).__name__}: {exc}")
    results[learner.name] = learner


def kill_kernel(learner: Learner) -> int:
    """SIGKILL the learner's kernel process (as the OOM killer would); return its PID."""
    for proc in hubtool.learner_processes([learner.name]).get(learner.name, []):
        try:
            if any(learner.kernel_id in part for part in proc.cmdline()):
                proc.kill()
                return proc.pid
        except psutil.Error:
            continue
    raise Failed("no kernel process found to kill")


def rss(proc) -> int:
    try:
        return proc.memory_info().rss
    except psutil.Error:
        return 0


def is_server(proc) -> bool:
    try:
        return any("jupyterhub-singleuser" in part for part in proc.cmdline())
    except psutil.Error:
        return False


def server_pids(names) -> dict:
    return {name: proc.pid for name, procs in hubtool.learner_processes(names).items() for proc in procs
            if is_server(proc)}


def run(learners: int = 8, lesson: str = "lessons/00_setup_check.ipynb", time_limit: float = 900,
        solo: bool = True, faults: bool = True, cull_check: bool = False, log=print) -> dict:
    if not 1 <= learners <= MAX_LEARNERS:
        raise ValueError(f"--learners must be 1..{MAX_LEARNERS}")
    problem = hubtool.problem()
    if problem:
        raise RuntimeError(problem)
    notebook = (ROOT / lesson).resolve()
    cells = code_cells(notebook)
    deadline = time.monotonic() + time_limit
    tmp = Path(tempfile.mkdtemp(prefix="course-hub-load-"))
    tag = "hl" + secrets.token_hex(2)
    names = [f"{tag}-{i:02d}" for i in range(1, learners + 1)]
    passwords = {name: hubtool.new_password() for name in names}
    settings = hubtool.Settings(state=str(tmp / "state"), homes=str(tmp / "homes"), port=hubtool.free_port(),
                                hub_port=hubtool.free_port(), proxy_api_port=hubtool.free_port(),
                                default_url=f"/lab/tree/{lesson}")
    assert settings.ip == "127.0.0.1"
    hubtool.ensure_state(settings.state_dir)
    for name, password in passwords.items():
        hubtool.set_password(settings.state_dir, name, password)
    hub = hubtool.Hub(settings)
    report: dict = {"learners": learners, "lesson": lesson, "cells": len(cells), "errors": [], "faults": {},
                    "machine": machine()}
    memory = Memory(hub, names)
    t_start = time.monotonic()

    def new(name):
        return Learner(name, passwords[name], settings.url, lesson, cells, deadline)

    try:
        hub.start()
        report["hub_start_s"] = round(time.monotonic() - t_start, 1)
        memory.start()
        log(f"hub up at {settings.url} in {report['hub_start_s']} s; {learners} learner(s), {len(cells)} cells")

        if faults:
            intruder = new(names[0])
            code = intruder.login("not-the-password")
            report["faults"]["wrong_password_refused"] = code == 403 and not any(
                c.name == "jupyterhub-session-id" for c in intruder.session.cookies)

        if solo:
            alone = {}
            learner_session(new(names[0]), alone)
            first = alone[names[0]]
            report["solo_lesson_s"] = round(first.times.get("lesson_s", float("nan")), 2)
            report["solo_server_start_s"] = round(first.times.get("server_start_s", float("nan")), 2)
            report["errors"] += [f"solo {names[0]}: {e}" for e in first.errors]
            if first.kernel_id:  # as a learner closing the lesson: shut its kernel down
                first.request("DELETE", f"/user/{names[0]}/api/kernels/{first.kernel_id}")
            log(f"alone: lesson {report['solo_lesson_s']} s, server start {report['solo_server_start_s']} s")

        results: dict = {}
        fault: dict | None = {} if faults and learners >= 2 else None
        victim = names[0]
        halfway = len(cells) // 2

        def on_cell(learner, index):
            if learner.name == victim and fault is not None and index == halfway and "killed_pid" not in fault:
                fault["killed_pid"] = kill_kernel(learner)

        threads = [threading.Thread(target=learner_session, args=(new(name), results),
                                    kwargs={"on_cell": on_cell, "fault": fault if name == victim else None})
                   for name in names]
        t_all = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(1, deadline - time.monotonic()))
        report["all_s"] = round(time.monotonic() - t_all, 1)
        at_end = memory.sample()  # every kernel is still alive here
        finished = [r for r in results.values() if not r.errors]
        for learner in results.values():
            report["errors"] += [f"{learner.name}: {e}" for e in learner.errors]
        others = [r.times["lesson_s"] for r in finished if r.name != victim or fault is None]
        report["finished"] = len(finished)
        report["lesson_s"] = {"median": round(statistics.median(others), 2) if others else None,
                              "p95": round(percentile(others, 0.95), 2) if others else None,
                              "all": sorted(round(x, 2) for x in others)}
        starts = [r.times["server_start_s"] for r in finished if "server_start_s" in r.times]
        report["server_start_s"] = {"median": round(statistics.median(starts), 2) if starts else None,
                                    "max": round(max(starts), 2) if starts else None}
        report["explorer_ms"] = {"median": round(statistics.median(x for r in finished for x in r.explorer_ms), 1)
                                 if finished else None}
        report["explorer_redrawn"] = sum(bool(r.times.get("explorer_redrawn")) for r in finished)
        if fault is not None:
            report["faults"]["kernel_killed"] = {
                "killed_pid": fault.get("killed_pid"), "noticed": fault.get("seen"),
                "rerun_ok": bool(fault.get("rerun_ok")), "edit_intact": bool(fault.get("edit_intact")),
                "others_finished": sum(1 for r in finished if r.name != victim),
                "victim_lesson_s": round(results[victim].times.get("lesson_s", float("nan")), 2)
                if victim in results else None}
        per_learner = [at_end[n] for n in names if n in at_end]
        servers = [at_end[f"{n}:server"] for n in names if f"{n}:server" in at_end]
        report["memory_mib"] = {
            "hub": round(memory.peak.get("hub", at_end.get("hub", 0)), 1),
            "proxy": round(memory.peak.get("proxy", at_end.get("proxy", 0)), 1),
            "per_learner_at_end": {"median": round(statistics.median(per_learner), 1) if per_learner else None,
                                   "max": round(max(per_learner), 1) if per_learner else None},
            "server_at_end": {"median": round(statistics.median(servers), 1) if servers else None},
            "per_learner_rss_at_end_max": round(max((at_end.get(f"{n}:rss", 0) for n in names), default=0), 1),
            "per_learner_peak_max": round(max((memory.peak.get(n, 0) for n in names), default=0), 1),
            "learners_total_at_end": round(sum(per_learner), 1),
        }
        log(f"{len(finished)}/{learners} finished in {report['all_s']} s; lesson median {report['lesson_s']['median']}"
            f" s, p95 {report['lesson_s']['p95']} s; memory {report['memory_mib']}")

        if faults and len(finished) >= 2:
            report["faults"]["isolation"] = isolation(finished[0], finished[1], settings)
        if faults and finished:
            report["faults"]["hub_restart"] = hub_restart(hub, finished)
        if cull_check and finished:
            report["culling"] = culling(hub, settings, finished)
    finally:
        memory.done.set()
        hub.close(names)
        report["removed_accounts"] = len(hubtool.remove_accounts(names, Path(settings.homes)))
        if report["errors"]:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(settings.state_dir / "hub.log", ARTIFACTS / "hub.log")
            report["hub_log"] = str(ARTIFACTS / "hub.log")
        shutil.rmtree(tmp, ignore_errors=True)
        report["wall_s"] = round(time.monotonic() - t_start, 1)
    return report


def isolation(a: Learner, b: Learner, settings) -> dict:
    """A asks for B's server through the proxy (all of A's cookies), and A's kernel tries to read B's home."""
    reply = a.request("GET", f"/user/{b.name}/api/contents/{b.lesson}")
    got_b_file = reply.status_code == 200 and NOTE.format(name=b.name) in reply.text
    lab = a.request("GET", f"/user/{b.name}/lab")
    msgs = a.execute(
        "import os\n"
        f"try:\n    open({str(Path(settings.homes) / b.name / b.lesson)!r}).read(); print('READ')\n"
        "except PermissionError:\n    print('DENIED')\n"
        f"try:\n    os.listdir({settings.homes!r}); print('LISTED')\n"
        "except PermissionError:\n    print('DENIED')\n")
    out = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    return {"api_status": reply.status_code, "lab_status": lab.status_code, "got_other_file": got_b_file,
            "kernel_read_other_home": "READ" in out, "kernel_listed_homes": "LISTED" in out,
            "refused": not got_b_file and lab.status_code in (403, 404) and out.split() == ["DENIED", "DENIED"]}


def hub_restart(hub: hubtool.Hub, learners: list[Learner]) -> dict:
    names = [x.name for x in learners]
    before = server_pids(names)
    hub.stop_hub()
    t_down = time.monotonic()
    during = sum(x.request("GET", f"/user/{x.name}/api/status").status_code == 200 for x in learners)
    hub.start_hub()
    down_s = time.monotonic() - t_down
    after = server_pids(names)
    reconnected, explorer, errors = 0, 0, []
    for x in learners:  # the browser reconnects its kernel websocket; the kernel kept its state and its widgets
        try:
            x.connect()
            out = "".join(m["content"].get("text", "") for m in x.execute("print(len(tokenizer('Still here?')"
                                                                            "['input_ids']))")
                          if m["msg_type"] == "stream")
            reconnected += out.strip() == "5"
            explorer += x.move_explorer()
        except (Failed, OSError, websocket.WebSocketException, requests.RequestException) as exc:
            errors.append(f"{x.name}: {exc}")
    return {"servers_before": len(before), "same_pids_after": sum(before.get(n) == after.get(n) for n in before),
            "answered_while_hub_down": during, "hub_down_s": round(down_s, 1), "reconnected": reconnected,
            "explorer_moved_after": explorer, "errors": errors,
            "ok": bool(before) and before == after and reconnected == len(learners)}


def culling(hub: hubtool.Hub, settings, learners: list[Learner]) -> dict:
    """Culling in seconds instead of minutes: an idle kernel, then every idle server, must be stopped."""
    names = [x.name for x in learners]
    for x in learners:
        if x.ws is not None:
            x.ws.close()  # the browser tabs close
    settings.kernel_idle_s, settings.kernel_cull_interval_s = 15, 5
    settings.server_idle_s, settings.cull_every_s, settings.activity_interval_s = 40, 10, 10
    hub.stop_hub()
    hub.start_hub()
    # A server reads its kernel timeout when it starts: restart the first learner's server to get the short one.
    first = learners[0]
    first.request("DELETE", f"/hub/api/users/{first.name}/server")
    hubtool.wait_for(lambda: first.name not in server_pids([first.name]), 60, "the server to stop")
    first.start_server()
    first.open_kernel()
    first.execute("x = 1")
    first.ws.close()
    t0, kernel_gone_s, servers_gone_s = time.monotonic(), None, None
    while time.monotonic() - t0 < 180:
        if kernel_gone_s is None:
            reply = first.request("GET", f"/user/{first.name}/api/kernels")
            if reply.status_code == 200 and first.kernel_id not in reply.text:
                kernel_gone_s = round(time.monotonic() - t0, 1)
        if not server_pids(names):
            servers_gone_s = round(time.monotonic() - t0, 1)
            break
        time.sleep(2)
    return {"kernel_idle_s": settings.kernel_idle_s, "kernel_culled_after_s": kernel_gone_s,
            "server_idle_s": settings.server_idle_s, "servers_culled_after_s": servers_gone_s,
            "ok": kernel_gone_s is not None and servers_gone_s is not None}


def machine() -> dict:
    cpu = ""
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_avg_1m_at_start": round(os.getloadavg()[0], 2), "date": time.strftime("%Y-%m-%d %H:%M")}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=8, help=f"simulated learners, 1..{MAX_LEARNERS} (default 8)")
    parser.add_argument("--lesson", default="lessons/00_setup_check.ipynb")
    parser.add_argument("--time-limit", type=float, default=900, help="seconds for the whole run (default 900)")
    parser.add_argument("--no-solo", action="store_true", help="skip the one-learner baseline")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--cull-check", action="store_true", help="finish by checking culling (about 2 minutes)")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)
    try:
        report = run(args.learners, args.lesson, args.time_limit, solo=not args.no_solo, faults=not args.no_faults,
                     cull_check=args.cull_check)
    except (RuntimeError, ValueError) as exc:
        print(f"[hub_load] cannot run: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    return 0 if report.get("finished") == args.learners and not report["errors"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
