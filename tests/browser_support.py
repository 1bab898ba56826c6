"""JupyterLab + headless Chromium for the browser test (tests/test_browser.py); no pytest in here.

``LabServer`` starts JupyterLab from this Python on 127.0.0.1 (free port, random token, temporary Jupyter config,
data, runtime and IPython folders, so nothing in the user's home is read or written; news and update checks off;
autosave off and saving refused, so running a lesson never rewrites the committed notebook) and ends it, with its
kernels, by PID. ``Browser`` drives Debian's Chromium through the Python ``playwright`` package (never
``playwright install``). ``run_lesson`` opens one lesson fresh, runs all cells and returns what a learner would see
as a list of problems, each naming the lesson and the cell.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
INSTALL_HINT = (
    "Install Debian's Chromium: `python3 tools/ensure_browser.py` (as root it runs "
    "`apt-get install -y chromium`; otherwise run `sudo apt-get install -y chromium` yourself). "
    "Never `playwright install`: the test drives /usr/bin/chromium."
)
# Lab settings for the test only (written to a temporary settings folder): no autosave, so the committed notebook
# is never rewritten; every cell attached to the DOM, so the checks see all outputs; no news or update checks.
USER_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
SERVER_CONFIG = '''
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
c.ServerApp.port_retries = 0
c.ServerApp.terminals_enabled = False
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
c.LabApp.expose_app_in_browser = True
c.LabApp.extension_manager = "readonly"  # the default asks PyPI about extensions


def _refuse_save(model, path, contents_manager, **kwargs):
    # The browser test runs the committed lessons in place; a save would overwrite their stored outputs.
    # Only an HTTPError stops the save: jupyter_server logs any other exception and saves anyway.
    from tornado.web import HTTPError

    contents_manager.log.warning("the browser test never saves (%s)", path)
    raise HTTPError(403, "the browser test never saves")


c.ContentsManager.pre_save_hook = _refuse_save
# JupyterLab makes a checkpoint (a copy) of each notebook it opens: keep those out of the repository.
c.FileCheckpoints.root_dir = {checkpoints!r}
'''


def chromium_problem() -> str | None:
    """Why the browser test cannot run here (Chromium or playwright missing), or None when it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing. {INSTALL_HINT}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is missing: run `python3 course.py setup` (requirements.txt pins it)."
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


class LabServer:
    """JupyterLab on 127.0.0.1 in a throw-away configuration; use as a context manager."""

    def __init__(self, root: Path = ROOT, python: str = sys.executable, startup_timeout: float = 90.0):
        self.root = Path(root)
        self.python = python
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(24)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="course-browser-"))
        self.log_path = self.tmp / "jupyterlab.log"

    # --- start / stop -------------------------------------------------------------------------------------------
    def _prepare(self) -> dict:
        config = self.tmp / "config"
        (config).mkdir(exist_ok=True)
        server_config = SERVER_CONFIG.replace("{checkpoints!r}", repr(str(self.tmp / "checkpoints")))
        (config / "jupyter_server_config.py").write_text(server_config, encoding="utf-8")
        _write_json(config / "labconfig" / "page_config.json", PAGE_CONFIG)
        settings = config / "lab" / "user-settings"
        for plugin, values in USER_SETTINGS.items():
            _write_json(settings / f"{plugin}.jupyterlab-settings", values)
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_DATA_DIR": str(self.tmp / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.tmp / "workspaces"),
            "IPYTHONDIR": str(self.tmp / "ipython"),
            "JUPYTER_TOKEN": self.token,  # in the environment, not on the command line where `ps` shows it
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("JUPYTER_PREFER_ENV_PATH", None)
        return env

    def start(self) -> LabServer:
        env = self._prepare()
        for _attempt in range(3):  # another process may grab the free port between our probe and the bind
            self.port = free_port()
            log = open(self.log_path, "ab")  # noqa: SIM115 - closed when the process ends
            self.proc = subprocess.Popen(
                [self.python, "-m", "jupyter", "lab", "--no-browser", f"--port={self.port}",
                 f"--ServerApp.root_dir={self.root}",
                 *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
                cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            if self._wait_ready():
                return self
            if "already in use" not in self.log_tail():
                break
        tail, code = self.log_tail(), self.proc.poll()
        self.stop()
        why = f"exited with code {code}" if code is not None else f"was not ready within {self.startup_timeout:.0f} s"
        raise RuntimeError(f"JupyterLab {why}. Its log ends:\n{tail}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.api("GET", "/lab/api/settings/@jupyterlab/docmanager-extension:plugin") is not None:
                    return True
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.3)
        return False

    def refused_saves(self) -> int:
        """How many times JupyterLab tried to save a file (each attempt was refused, see SERVER_CONFIG)."""
        try:
            return self.log_path.read_text(errors="replace").count("the browser test never saves")
        except OSError:
            return 0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _process_tree(self) -> list:
        try:
            import psutil

            parent = psutil.Process(self.proc.pid)
            return [parent, *parent.children(recursive=True)]
        except Exception:  # psutil missing or the server already gone
            return []

    def stop(self) -> None:
        """End the server and every kernel it started, by PID, even if the server hangs."""
        if self.proc is not None and self.proc.poll() is None:
            tree = self._process_tree()  # kernels are the server's children; remember them before it exits
            try:
                self.shutdown_sessions()
            except Exception:
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            for process in tree[1:]:
                try:
                    if process.is_running():
                        process.kill()
                except Exception:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- REST ---------------------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self, method: str, path: str):
        request = urllib.request.Request(
            self.url(path), method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def sessions(self) -> list:
        return self.api("GET", "/api/sessions")

    def kernels(self) -> list:
        return self.api("GET", "/api/kernels")

    def shutdown_sessions(self) -> None:
        for session in self.sessions():
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.kernels():
            self.api("DELETE", f"/api/kernels/{kernel['id']}")


class Browser:
    """Headless Debian Chromium with a fresh profile in a temporary folder; use as a context manager."""

    def __init__(self, width: int = 1280, height: int = 900):
        self.viewport = {"width": width, "height": height}
        self.profile = Path(tempfile.mkdtemp(prefix="course-chromium-"))
        self._pw = None
        self.context = None

    def __enter__(self) -> Browser:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            # launch_persistent_context passes --user-data-dir itself (playwright refuses it in args).
            # Chromium keeps crash reports and caches under XDG folders, not the profile: point them at it too.
            env = {**os.environ, "XDG_CONFIG_HOME": str(self.profile / "xdg-config"),
                   "XDG_CACHE_HOME": str(self.profile / "xdg-cache")}
            self.context = self._pw.chromium.launch_persistent_context(
                str(self.profile / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport=self.viewport, timeout=60_000, env=env,
            )
        except Exception:
            self._pw.stop()
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.context is not None:
                self.context.close()
        finally:
            self._pw.stop()
            shutil.rmtree(self.profile, ignore_errors=True)

    def new_page(self):
        page = self.context.new_page()
        page.set_viewport_size(self.viewport)
        return page


# --- one lesson --------------------------------------------------------------------------------------------------
@dataclass
class LessonReport:
    """What the browser saw for one lesson: problems (empty when it passed), explorers tried, timings, files."""

    name: str
    problems: list[str] = field(default_factory=list)
    explorers: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    open_seconds: float = 0.0
    run_seconds: float = 0.0
    check_seconds: float = 0.0
    code_cells: int = 0

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{self.name}, {where}: {what}")

    def save(self, path: Path) -> None:
        data = {**self.__dict__, "screenshots": [p.name for p in self.screenshots]}
        _write_json(path, data)


# JavaScript run in the page. `window.jupyterapp` exists because the server sets LabApp.expose_app_in_browser.
JS_PANEL_READY = """(path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const panel = app.shell.currentWidget;
  return !!(panel && panel.context && panel.context.path === path && panel.content && panel.context.isReady
            && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel
            && panel.sessionContext.kernelDisplayStatus === 'idle');
}"""

JS_RUN_ALL = """() => {
  // Clear the stored outputs first, so every execution count and output on the page comes from this run.
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  app.shell.activateById(panel.id);
  window.__courseRun = {done: false, ok: null, error: null};
  app.commands.execute('notebook:clear-all-cell-outputs')
    .then(() => app.commands.execute('notebook:run-all-cells'))
    .then(ok => { window.__courseRun = {done: true, ok: ok === undefined ? null : ok, error: null}; })
    .catch(err => { window.__courseRun = {done: true, ok: false, error: String(err)}; });
}"""

JS_DONE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return window.__courseRun.done && panel.sessionContext.kernelDisplayStatus === 'idle';
}"""

# Everything a learner would see, per cell: stored outputs from the model and the rendered DOM.
JS_CELLS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    const area = cell.node.querySelector('.jp-Cell-outputArea') || cell.node;
    const images = Array.from(area.querySelectorAll('img'));
    // The cell's own outputs (not those nested in an Output widget); a rendered widget view is a child of one.
    const top = cell.outputArea ? Array.from(cell.outputArea.node.querySelectorAll('.jp-OutputArea-output'))
      .filter(e => e.closest('.jp-OutputArea') === cell.outputArea.node) : [];
    const widgetMime = 'application/vnd.jupyter.widget-view+json';
    cells.push({
      index: index,
      source: cell.model.sharedModel.getSource(),
      count: cell.model.executionCount,
      errors: outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
      stderr: outputs.filter(o => o.output_type === 'stream' && o.name === 'stderr').map(o =>
        Array.isArray(o.text) ? o.text.join('') : o.text),
      pngs: outputs.filter(o => o.data && o.data['image/png']).length,
      domStderr: Array.from(area.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(e => e.innerText.slice(0, 400)),
      text: area.innerText,
      images: images.length,
      brokenImages: images.filter(i => !(i.complete && i.naturalWidth > 0)).length,
      widgetOutputs: outputs.filter(o => o.data && o.data[widgetMime] && o.data[widgetMime].model_id).length,
      widgetViews: top.filter(e => e.querySelector(':scope > .jupyter-widgets')).length,
      explorers: area.querySelectorAll('.course-explorer').length,
      // ipywidgets 8 draws a widget it cannot render as a broken-page icon; a click reveals the JavaScript error.
      widgetErrors: Array.from(area.querySelectorAll('.jupyter-widgets-error-widget')).map(e => {
        e.click();
        return e.innerText.replace('[Open Browser Console for more detailed log - Double click to close this message]',
                                   '').trim().slice(0, 300);
      }),
    });
  });
  return cells;
}"""

JS_OUTPUT_SNAPSHOT = """(el) => {
  const out = el.querySelector('.explorer-output');
  if (!out) return null;
  const parts = [out.innerText];
  out.querySelectorAll('img').forEach(i => parts.push(i.src));
  out.querySelectorAll('svg, canvas').forEach(s => parts.push(s.outerHTML.length + ':' + s.outerHTML.slice(-200)));
  return parts.join('\\n');
}"""

JS_KERNEL_IDLE = "() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === 'idle'"

JS_NOTEBOOK_HEIGHT = """() => {
  const outer = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')
             || document.querySelector('.jp-NotebookPanel-notebook');
  return outer ? outer.scrollHeight : document.body.scrollHeight;
}"""

EXPLORER_ERROR = re.compile(r"^\s*(\w+Error|\w*Exception|Traceback)\b[:\s]", re.M)
SAMPLE_TEXT = "The bank raised its interest rates, and the river bank flooded."


def _cell_label(cell: dict) -> str:
    first = next((line for line in cell["source"].splitlines() if line.strip() and not line.startswith("#")), "")
    first = first if len(first) <= 70 else first[:67] + "..."
    return f"cell {cell['index'] + 1} (In [{cell['count']}]: {first!r})"


def _digest(text: str | None) -> str:
    return hashlib.sha1((text or "").encode()).hexdigest()[:10]


def _wait_for_change(page, explorer, before: str, timeout: float) -> str | None:
    """Poll the explorer's output until it differs from ``before``, is non-empty and the kernel is idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = explorer.evaluate(JS_OUTPUT_SNAPSHOT)
        if now and now.strip() and now != before and page.evaluate(JS_KERNEL_IDLE):
            page.wait_for_timeout(150)  # let a figure that is still arriving finish
            return explorer.evaluate(JS_OUTPUT_SNAPSHOT)
        page.wait_for_timeout(100)
    return None


def _control_moves(explorer) -> list:
    """(description, action) pairs, one per control of the explorer, in screen order."""
    moves = []
    controls = explorer.locator(
        ".widget-slider .noUi-handle, .widget-dropdown select, .widget-select select, "
        ".widget-text input, .widget-textarea textarea, .widget-checkbox input[type=checkbox], "
        ".widget-toggle-buttons, .widget-radio-box, .widget-button:not(.widget-toggle-button)"
    )
    for i in range(controls.count()):
        control = controls.nth(i)
        # Controls inside the output area belong to what the explorer draws, not to its inputs.
        if control.evaluate("e => !!e.closest('.explorer-output')"):
            continue
        kind = control.evaluate(
            "e => e.classList.contains('noUi-handle') ? 'slider' : e.tagName.toLowerCase() === 'select' ? 'select'"
            " : e.type === 'checkbox' ? 'checkbox' : e.type === 'number' ? 'number'"
            " : e.tagName.toLowerCase() === 'input' || e.tagName.toLowerCase() === 'textarea' ? 'text'"
            " : e.classList.contains('widget-toggle-buttons') ? 'toggle' : e.classList.contains('widget-radio-box')"
            " ? 'radio' : 'button'"
        )
        moves.append((kind, control))
    return moves


def _move(page, kind: str, control) -> str:
    """Change one control the way a learner would; return what was done."""
    if kind == "slider":
        control.focus()
        before = control.get_attribute("aria-valuenow")
        control.press("ArrowRight")
        page.wait_for_timeout(50)
        if control.get_attribute("aria-valuenow") == before:  # already at its maximum
            control.press("ArrowLeft")
            return f"slider: ArrowLeft from {before}"
        return f"slider: ArrowRight from {before}"
    if kind == "select":
        options = control.locator("option")
        values = [options.nth(j).get_attribute("value") for j in range(options.count())]
        current = control.input_value()
        other = next((v for v in values if v != current), None)
        if other is None:
            return "select: only one option"
        control.select_option(other)
        was = values.index(current) if current in values else "?"
        return f"dropdown: option {values.index(other)} instead of {was}"
    if kind == "number":
        current = control.input_value() or "0"
        new = str(int(float(current)) + 1)
        control.fill(new)
        control.press("Enter")
        return f"number box: {current} -> {new}"
    if kind == "text":
        # Edit the lesson's own example rather than replace it, so the text stays valid input (e.g. keeps [MASK]).
        current = control.input_value()
        text = f"Indeed, {current}" if current.strip() else SAMPLE_TEXT
        control.click()
        control.fill(text)
        if control.evaluate("e => e.tagName.toLowerCase() === 'textarea'"):
            control.press("Tab")  # a textarea sends its value when it loses focus
            return f"text area: typed {text[:40]!r}... + Tab"
        control.press("Enter")
        return f"text box: typed {text[:40]!r}... + Enter"
    if kind == "checkbox":
        control.click()
        return "checkbox: clicked"
    if kind == "toggle":
        control.locator("button:not(.mod-active)").first.click()
        return "toggle buttons: clicked another"
    if kind == "radio":
        control.locator("input:not(:checked)").first.click()
        return "radio buttons: picked another"
    control.click()
    return "button: clicked"


def check_explorers(page, report: LessonReport, cells: list, change_timeout: float = 20.0) -> None:
    """Every ``.course-explorer`` shows output, and moving one of its controls changes that output."""
    explorers = page.locator(".jp-Notebook .course-explorer")
    expected = sum(c["explorers"] for c in cells)
    for i in range(explorers.count()):
        explorer = explorers.nth(i)
        index = explorer.evaluate(
            "e => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell')).indexOf(e.closest('.jp-Cell'))"
        )
        cell = next((c for c in cells if c["index"] == index), {"index": index, "source": "", "count": None})
        where = f"{_cell_label(cell)}, explorer {i + 1}"
        title = explorer.locator("b").first.inner_text() if explorer.locator("b").count() else "?"
        explorer.scroll_into_view_if_needed()
        before = explorer.evaluate(JS_OUTPUT_SNAPSHOT)
        if before is None:
            report.fail(where, "the explorer has no .explorer-output area (build it with utils.widgets.explorer)")
            continue
        if not before.strip():
            report.fail(where, f"explorer {title!r} shows nothing before any control is moved")
        if EXPLORER_ERROR.search(before or ""):
            report.fail(where, f"explorer {title!r} shows an error: {before.strip()[:300]}")
        moves = _control_moves(explorer)
        if not moves:
            report.fail(where, f"explorer {title!r} has no control the test knows how to move")
            continue
        tried = []
        for kind, control in moves:
            done = _move(page, kind, control)
            after = _wait_for_change(page, explorer, before, change_timeout)
            tried.append(done)
            if after is not None:
                if EXPLORER_ERROR.search(after):
                    report.fail(where, f"explorer {title!r} shows an error after {done}: {after.strip()[:300]}")
                report.explorers.append(f"{title}: {done} changed the output ({_digest(before)} -> {_digest(after)})")
                break
        else:
            report.fail(where, f"explorer {title!r}: its output did not change within {change_timeout:.0f} s after "
                               f"moving its controls ({'; '.join(tried)})")
    if explorers.count() != expected:
        report.fail("notebook", f"{expected} explorers in cell outputs but {explorers.count()} found on the page")


def check_cells(report: LessonReport, cells: list) -> None:
    """Every cell ran once in a fresh kernel; no error, no stderr; every widget and every image rendered."""
    counts = [c["count"] for c in cells]
    if None not in counts and counts != list(range(1, len(counts) + 1)):
        report.fail("notebook", f"execution counts {counts} are not 1, 2, 3 ...: the kernel was not fresh")
    first_error = next((c["index"] for c in cells if c["errors"]), None)
    skipped = [c for c in cells if c["count"] is None and first_error is not None and c["index"] > first_error]
    for cell in cells:
        where = _cell_label(cell)
        if cell["count"] is None and cell not in skipped:
            report.fail(where, "did not run (no execution count after Run All)")
        for error in cell["errors"]:
            report.fail(where, f"raised {error}")
        for text in cell["stderr"]:
            report.fail(where, f"wrote to stderr: {text.strip()[:300]}")
        if not cell["errors"] and not cell["stderr"]:
            for text in cell["domStderr"]:
                report.fail(where, f"shows an error output: {text.strip()[:300]}")
        for text in cell.get("widgetErrors", []):
            lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("at ")]
            report.fail(where, f"a widget did not render (ipywidgets error): {' / '.join(lines)}")
        for marker in ("Error displaying widget", "Loading widget..."):
            if marker in cell["text"]:
                line = next(ln for ln in cell["text"].splitlines() if marker in ln)
                report.fail(where, f"shows {line.strip()[:200]!r}")
        if cell["widgetViews"] < cell["widgetOutputs"]:
            drawn, wanted = cell["widgetViews"], cell["widgetOutputs"]
            report.fail(where, f"{wanted} widget output(s) but {drawn} drawn as widgets: is JupyterLab's widget "
                               f"extension (jupyterlab-widgets) installed and matching ipywidgets?")
        if cell["brokenImages"]:
            report.fail(where, f"{cell['brokenImages']} image(s) did not load")
        if cell["images"] < cell["pngs"]:
            report.fail(where, f"{cell['pngs']} figure(s) in the outputs but {cell['images']} shown")
    if skipped:
        rest = f", nor the {len(skipped) - 1} code cell(s) after it" if len(skipped) > 1 else ""
        report.fail(_cell_label(skipped[0]), f"did not run{rest}: Run All stops at the first error")


def _screenshot_notebook(page, stem: str, max_height: int = 12000) -> list[Path]:
    """Pictures of the whole notebook and of each explorer. The window grows to the notebook's height (JupyterLab
    scrolls inside its own panel, so a plain full-page screenshot shows one screen); past ``max_height`` pixels,
    one file per part."""
    total = int(page.evaluate(JS_NOTEBOOK_HEIGHT)) + 200
    size = page.viewport_size
    height = max(min(total, max_height), size["height"])
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(500)
    paths, offset, part = [], 0, 1
    while True:
        page.evaluate("(y) => document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')?.scrollTo(0, y)",
                      offset)
        page.wait_for_timeout(200)
        path = ARTIFACTS / (f"{stem}.png" if part == 1 else f"{stem}--part{part}.png")
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
        offset += height - 300  # overlap a little so no cell is cut in half unseen
        part += 1
        if offset >= total - 300 or part > 10:
            break
    # While the window is tall, each explorer fits on screen whole (it shows the state after the test moved it).
    explorers = page.locator(".jp-Notebook .course-explorer")
    for i in range(explorers.count()):
        path = ARTIFACTS / f"{stem}--explorer{i + 1}.png"
        try:
            explorers.nth(i).screenshot(path=str(path))
            paths.append(path)
        except Exception:  # a screenshot is evidence, not the test
            pass
    page.set_viewport_size(size)
    return paths


def run_lesson(server: LabServer, browser: Browser, lesson: Path, run_timeout: float = 300.0) -> LessonReport:
    """Open ``lesson`` fresh, Run All, check what the page shows; never raises for a lesson's own problems."""
    rel = lesson.resolve().relative_to(server.root).as_posix()
    report = LessonReport(lesson.name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server.shutdown_sessions()  # no kernel left from the previous lesson
    page = browser.new_page()
    console_errors: list[str] = []
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    opened = time.perf_counter()
    try:
        page.goto(server.url(f"/lab/tree/{rel}?reset&token={server.token}"), wait_until="domcontentloaded")
        try:
            page.wait_for_function(JS_PANEL_READY, arg=rel, timeout=120_000, polling=250)
        except Exception:
            report.fail("opening", f"the notebook or its kernel was not ready within 120 s; server log:\n"
                                   f"{server.log_tail(15)}")
            return report
        start = time.perf_counter()
        report.open_seconds = start - opened
        page.evaluate(JS_RUN_ALL)
        try:
            page.wait_for_function(JS_DONE, timeout=run_timeout * 1000, polling=250)
        except Exception:
            report.fail("Run All", f"not finished after {run_timeout:.0f} s")
        report.run_seconds = time.perf_counter() - start
        outcome = page.evaluate("() => window.__courseRun")
        if outcome.get("error"):
            report.fail("Run All", f"the command failed: {outcome['error'][:300]}")
        # Widgets render after the kernel has answered; give "Loading widget..." a moment to go away.
        try:
            page.wait_for_function(
                "() => !document.querySelector('.jp-Notebook').innerText.includes('Loading widget...')",
                timeout=30_000, polling=250)
        except Exception:
            pass
        page.wait_for_timeout(500)
        cells = page.evaluate(JS_CELLS)
        report.code_cells = len(cells)
        check_cells(report, cells)
        check_explorers(page, report, cells)
        for error in console_errors:
            if "widget" in error.lower():
                report.fail("page", f"JavaScript error: {error[:300]}")
        for stale in ARTIFACTS.glob(f"{lesson.stem}--*.png"):
            stale.unlink()
        report.screenshots[:0] = _screenshot_notebook(page, lesson.stem)
        report.check_seconds = time.perf_counter() - start - report.run_seconds
    except Exception as exc:  # the page itself broke: report it against the lesson rather than crash the run
        report.fail("browser", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        try:
            page.screenshot(path=str(ARTIFACTS / f"{lesson.stem}--failure.png"))
        except Exception:
            pass
    finally:
        try:
            server.shutdown_sessions()
        finally:
            page.close()
        report.save(ARTIFACTS / f"{lesson.stem}.json")
    return report
