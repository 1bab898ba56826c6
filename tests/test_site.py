"""The course as a website (``python3 course.py site``, tools/site.py), built and read in a real browser.

The build runs once per test session into ``build/site/`` (Jupyter Book, notebooks NOT executed). Then, without a
browser: every lesson (a glob, so ``07_*.ipynb`` is included) has a page with its code exactly as committed, a
"Run it yourself" box and a link to the next lesson; every explorer is a still saying it is live in JupyterLab; no
page, style sheet or script would load anything from another host; every internal link and anchor resolves.
With Debian's Chromium (driven by ``playwright``, served from 127.0.0.1, server stopped by its handle at the end):
every page renders without console errors or failed requests, every figure is visible and loaded, tables and
explorer stills are there, math renders with the local MathJax, and the browser asks no other host for anything.
Screenshots go to ``artifacts/site/`` (git-ignored). Without Chromium the browser part fails when CI is set and
skips, loudly, elsewhere (the same rule as tests/test_browser.py).

Run only this: ``.venv/bin/python -m pytest -q tests/test_site.py``.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from browser_support import ROOT, Browser, chromium_problem
from test_browser import unavailable
from tool_loader import load_tool

site = load_tool("site")
SITE = ROOT / "build" / "site"
ARTIFACTS = ROOT / "artifacts" / "site"
LESSONS = site.lesson_paths()
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PAGES = (["index.html"] + [f"lessons/{p.stem}.html" for p in LESSONS]
         + [f"docs/{Path(name).stem}.html" for name in site.DOCS] + ["search.html", "genindex.html"])


# --- building and serving -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def built():
    """The site, built once per session from the lessons as they are on disk now."""
    started = time.perf_counter()
    try:
        site.build(SITE)
    except SystemExit as exc:
        pytest.fail(f"`python3 course.py site` failed: {exc}", pytrace=False)
    print(f"\n[test_site] site built in {time.perf_counter() - started:.1f} s")
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class StaticServer:
    """``folder`` over HTTP on 127.0.0.1 (a free port) in a thread; stopped by its handle on exit."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> StaticServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def need_browser() -> None:
    problem = chromium_problem()
    if problem:
        action, message = unavailable(problem)
        if action == "fail":
            pytest.fail(message, pytrace=False)
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser_on_site(built):
    need_browser()
    with StaticServer(built) as server, Browser() as browser:
        yield server, browser


# --- what a page shows, read in the browser -------------------------------------------------------------------------
JS_PAGE = """() => {
  const main = document.querySelector('main') || document.body;
  const hidden = e => !!e.closest('details:not([open]), .toggle-hidden, [hidden]');
  const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
                       && getComputedStyle(e).visibility !== 'hidden'; };
  return {
    title: document.title,
    text: main.innerText,
    outputText: Array.from(document.querySelectorAll('.cell_output')).map(e => e.innerText).join(' | '),
    images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src, loaded: i.complete && i.naturalWidth > 0,
                                                   folded: hidden(i), visible: shown(i),
                                                   output: !!i.closest('.cell_output')})),
    tables: document.querySelectorAll('.cell_output table').length,
    math: document.querySelectorAll('.math').length,
    mathRendered: document.querySelectorAll('.math mjx-container').length,
    stills: Array.from(document.querySelectorAll('.course-explorer-still')).map(e => e.innerText),
    widgets: document.querySelectorAll('.jupyter-widgets, .widget-area, script[type*="jupyter.widget"]').length,
    mathjax: Array.from(document.scripts).filter(s => /mathjax/i.test(s.src)).map(s => s.src),
  };
}"""


def open_page(page, url: str) -> dict:
    """Load ``url``, wait for MathJax, return what JS_PAGE reads; network and console trouble goes in problems."""
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !window.MathJax || !MathJax.startup || !!MathJax.startup.document", timeout=20_000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    return page.evaluate(JS_PAGE)


def watch(page, origin: str) -> list:
    """Record, and refuse, every request to another host; record console errors and failed loads."""
    problems: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(origin + "/") or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            problems.append(f"request to another host: {url}")
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text[:300]}") if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {str(exc)[:300]}"))
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}: {r.failure}")
            if r.url.startswith(origin) else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
    return problems


def built_lessons() -> list[Path]:
    """The copies of the lessons that the last build read (build/site-src/lessons/): what the pages must show.
    Lessons are edited while tests run, so the pages are checked against these, not against lessons/ now."""
    return sorted((site.SOURCE / "lessons").glob("*.ipynb"))


def committed(copy: Path) -> dict:
    """What a lesson holds that its page must show (from the copy the build read; explorers are stills there)."""
    nb = nbformat.read(copy, as_version=4)
    figures = tables = widgets = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or "solution" in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            figures += "image/png" in data or "image/svg+xml" in data or "image/jpeg" in data
            html_text = "".join(data.get("text/html", ""))
            widgets += site.STILL_CLASS in html_text or WIDGET_MIME in data
            tables += "<table" in html_text
    return {"figures": figures, "tables": tables, "widgets": widgets, "title": site.lesson_title(nb, copy)}


@pytest.mark.parametrize("name", PAGES)
def test_page_in_browser(browser_on_site, name):
    server, browser = browser_on_site
    if name.startswith("lessons/") and not (site.SOURCE / "lessons" / (Path(name).stem + ".ipynb")).exists():
        pytest.skip(f"{name}: the lesson was removed before the site was built")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    problems = watch(page, server.origin)
    try:
        seen = open_page(page, f"{server.origin}/{name}")
        stem = name.replace("/", "--").removesuffix(".html")
        for old in ARTIFACTS.glob(f"{stem}--still*.png"):
            old.unlink()
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
        stills = page.locator(".course-explorer-still")
        for i in range(stills.count()):  # each explorer's still on its own, to look at
            stills.nth(i).screenshot(path=str(ARTIFACTS / f"{stem}--still{i + 1}.png"))
    finally:
        page.close()
    where = f"{name} (screenshot: artifacts/site/{name.replace('/', '--').removesuffix('.html')}.png)"
    if len(seen["text"].strip()) < 40:
        problems.append("the page shows (almost) no text")
    for image in seen["images"]:
        if not image["loaded"]:
            problems.append(f"image not loaded: {image['src']}")
        elif not image["folded"] and not image["visible"]:
            problems.append(f"image loaded but not visible: {image['src']}")
    if seen["mathRendered"] < seen["math"]:
        problems.append(f"{seen['math']} math element(s) but {seen['mathRendered']} rendered by MathJax")
    for src in seen["mathjax"]:
        if not src.startswith(server.origin):
            problems.append(f"MathJax from another host: {src}")
    for marker in ("Error displaying widget", "Loading widget", "A Jupyter widget could not be displayed"):
        if marker in seen["outputText"]:  # (the prose may name the message, e.g. in troubleshooting notes)
            problems.append(f"an output shows {marker!r}")
    if seen["widgets"]:
        problems.append(f"{seen['widgets']} widget placeholder(s) or widget script(s) on a static page")
    if name.startswith("lessons/"):
        want = committed(site.SOURCE / "lessons" / (Path(name).stem + ".ipynb"))
        figures = [i for i in seen["images"] if i["output"] and i["visible"] and i["loaded"]]
        if len(figures) < want["figures"]:
            problems.append(f"{want['figures']} committed figure(s) but {len(figures)} shown")
        if seen["tables"] < want["tables"]:
            problems.append(f"{want['tables']} committed table(s) but {seen['tables']} shown")
        if len(seen["stills"]) != want["widgets"]:
            problems.append(f"{want['widgets']} explorer(s) but {len(seen['stills'])} stills")
        problems += [f"explorer still without the 'live in JupyterLab' line: {s[:80]!r}"
                     for s in seen["stills"] if site.LIVE_LINE not in s]
        if want["title"].replace("'", "’") not in seen["text"].replace("'", "’"):  # Sphinx's smart quotes
            problems.append(f"the title {want['title']!r} is not on the page")
    assert not problems, f"{len(problems)} problem(s) on {where}:\n  - " + "\n  - ".join(problems)


def test_math_renders_offline(tmp_path, browser_on_site):
    """A one-page book with math, built with the site's own configuration: MathJax is the local copy, it renders
    inline and display math, and its fonts come from the same server (the lessons have little math so far)."""
    _server, browser = browser_on_site
    source = tmp_path / "src"
    source.mkdir()
    (source / "_config.yml").write_text(json.dumps(site.config()), encoding="utf-8")
    (source / "_toc.yml").write_text("format: jb-book\nroot: index\n", encoding="utf-8")
    (source / "index.md").write_text("# Math\n\nScaled dot product: $\\frac{QK^\\top}{\\sqrt{d_k}}$.\n\n"
                                     "$$\\mathrm{softmax}(x)_i = \\frac{e^{x_i}}{\\sum_j e^{x_j}}$$\n",
                                     encoding="utf-8")
    site.run_jupyter_book(source, tmp_path / "work")
    out = tmp_path / "work" / "_build" / "html"
    assert site.scan_site(out) == {}
    with StaticServer(out) as server:
        page = browser.new_page()
        problems = watch(page, server.origin)
        fonts = []
        page.on("response", lambda r: fonts.append(r.url) if ".woff" in r.url else None)
        try:
            seen = open_page(page, f"{server.origin}/index.html")
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "math-check.png"))
        finally:
            page.close()
    assert seen["math"] == 2 and seen["mathRendered"] == 2, seen
    assert seen["mathjax"] and all(s.startswith(server.origin + "/_static/mathjax/") for s in seen["mathjax"])
    assert fonts and all(f.startswith(server.origin) for f in fonts), fonts
    assert not problems, problems


# --- the built files, without a browser ------------------------------------------------------------------------------
def page_text(path: Path) -> str:
    """The visible text of a built page (tags dropped, entities decoded)."""
    raw = re.sub(r"<(script|style)\b.*?</\1>", "", path.read_text(encoding="utf-8"), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def test_every_lesson_has_a_page_linked_to_the_next(built):
    lessons = built_lessons()
    if [p.name for p in lessons] != [p.name for p in site.lesson_paths()]:
        warnings.warn("lessons were added or removed while the test ran; checking those the site was built from",
                      stacklevel=1)
    assert lessons, "the build read no lesson"
    for i, lesson in enumerate(lessons):
        page = built / "lessons" / f"{lesson.stem}.html"
        assert page.exists(), f"no page for {lesson.name}"
        text = page.read_text(encoding="utf-8")
        assert "Run it yourself" in text and site.LAB_COMMAND in " ".join(page_text(page).split()), lesson.name
        assert re.search(rf'href="https://mybinder\.org/v2/gh/[^"]*urlpath=lab/tree/lessons/{lesson.name}"', text)
        if i + 1 < len(lessons):
            assert f'href="{lessons[i + 1].stem}.html"' in text, f"{lesson.name} does not link to the next lesson"
        else:
            assert "This is the last lesson" in text
    index = (built / "index.html").read_text(encoding="utf-8")
    for lesson in lessons:
        assert f'href="lessons/{lesson.stem}.html"' in index, f"the home page does not link to {lesson.name}"
        for page in (built / "lessons").glob("*.html"):  # every page's side bar lists every other lesson
            linked = f'href="{lesson.stem}.html"' in page.read_text(encoding="utf-8")
            assert linked or page.stem == lesson.stem, f"{page.name} does not link to {lesson.stem}"


def code_cells(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and c.source.strip()]


def test_code_is_shown_exactly_as_committed(built):
    """Hugging Face's names and everything else in the code cells stay as committed (whitespace aside). Checked
    against the copy the build read (build/site-src/), since lessons may be edited while the test runs."""
    squash = functools.partial(re.sub, r"\s+", "")
    for copy in built_lessons():
        lesson = ROOT / "lessons" / copy.name
        text = squash(page_text(built / "lessons" / f"{copy.stem}.html"))
        for source in code_cells(copy):
            assert squash(source) in text, f"{lesson.name}: code cell not on the page: {source[:80]!r}"
        if not lesson.exists() or code_cells(copy) != code_cells(lesson):
            warnings.warn(f"{lesson.name} changed on disk after the site was built; its page may be stale",
                          stacklevel=1)


def test_explorers_are_stills_without_widget_javascript(built):
    for copy in built_lessons():
        text = (built / "lessons" / f"{copy.stem}.html").read_text(encoding="utf-8")
        assert WIDGET_MIME not in copy.read_text(encoding="utf-8"), f"{copy.name}: a widget output was left as is"
        assert text.count(site.STILL_CLASS) == committed(copy)["widgets"], copy.name
        assert WIDGET_MIME not in text and "embed-amd" not in text and "require.js" not in text, copy.name


def test_nothing_is_loaded_from_another_host(built):
    assert site.scan_site(built) == {}


def test_internal_links_resolve(built):
    ids: dict[Path, set] = {}
    broken = []
    for path in sorted(built.rglob("*.html")):
        if "_static" in path.parts:
            continue
        for url in re.findall(r'\b(?:href|src)="([^"]+)"', path.read_text(encoding="utf-8")):
            url = html.unescape(url)
            parts = urlsplit(url)
            if parts.scheme or url.startswith(("//", "mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(built)}: {url}")
            elif parts.fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8")))
                if unquote(parts.fragment) not in ids[target]:
                    broken.append(f"{path.relative_to(built)}: {url} (no such anchor)")
    assert not broken, "broken internal links:\n  " + "\n  ".join(broken[:40])


# --- helpers, without building -------------------------------------------------------------------------------------
REPRS = {
    "tokenizer": "VBox(children=(HTML(value='<b>Tokenizer explorer: type, then click outside the box (or Ctrl+Enter)"
                 "</b>'), HBox…",
    "outputs": 'VBox(children=(HTML(value="<b>Output explorer: one token\\\'s vector, layer by layer</b>"), '
               "HBox(children=(Dropdo…",
    "setup": "HBox(children=(IntSlider(value=1, description='layer', max=6, min=1), Label(value='hidden_states[1] is "
             "the out…",
}


def test_explorer_title_and_controls_come_from_the_text_fallback():
    assert site.describe_explorer(REPRS["tokenizer"]).title.startswith("Tokenizer explorer: type")
    assert site.describe_explorer(REPRS["outputs"]).title == "Output explorer: one token's vector, layer by layer"
    setup = site.describe_explorer(REPRS["setup"])
    assert setup.title == "Explorer" and setup.controls == ["slider “layer” (first value: 1)"]
    assert site.describe_explorer("").title == "Explorer"
    still = site.explorer_still(REPRS["tokenizer"], "lessons/01_x.ipynb", "https://mybinder.org/x?a=1&b=2")
    assert site.LIVE_LINE in still and site.LAB_COMMAND in still and "a=1&amp;b=2" in still
    assert "<script" not in still


def notebook(*cells, title="07 · Demo"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["course"] = {"title": title}
    nb.cells = list(cells)
    return nb


def test_site_notebook_keeps_code_and_adds_the_run_box_the_still_and_the_next_link():
    code = nbformat.v4.new_code_cell("enc = tokenizer('hi', return_tensors='pt')\nout = model(**enc)",
                                     outputs=[nbformat.v4.new_output("display_data", data={
                                         WIDGET_MIME: {"model_id": "abc"}, "text/plain": REPRS["setup"]})])
    solution = nbformat.v4.new_code_cell("check('07.x', 3)", metadata={"tags": ["solution"]})
    nb = notebook(nbformat.v4.new_markdown_cell("# 07 · Demo\n\nsee [the README](../README.md)"), code, solution)
    nb.metadata["widgets"] = {"state": {}}
    before = json.dumps(nb, sort_keys=True)
    out = site.site_notebook(nb, "lessons/07_demo.ipynb", "https://mybinder.org/b", ("08_next.ipynb", "08 · Next"))
    assert json.dumps(nb, sort_keys=True) == before, "the lesson itself must not change"
    assert [c.cell_type for c in out.cells] == ["markdown", "markdown", "code", "code", "markdown"]
    assert "Run it yourself" in out.cells[1].source and "lessons/07_demo.ipynb" in out.cells[1].source
    assert out.cells[2].source == code.source
    data = out.cells[2].outputs[0]["data"]
    assert WIDGET_MIME not in data and site.STILL_CLASS in data["text/html"]
    assert "hide-cell" in out.cells[3].metadata["tags"]
    assert out.cells[-1].source.endswith("[08 · Next](08_next.ipynb) →\n")
    assert "](../index.md)" in out.cells[0].source and "widgets" not in out.metadata
    last = site.site_notebook(nb, "lessons/07_demo.ipynb", "b", None)
    assert "This is the last lesson" in last.cells[-1].source


def test_binder_link_follows_the_readme_and_opens_the_lesson():
    template = site.binder_template("[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/"
                                    "<OWNER>/<REPO>/HEAD?urlpath=lab/tree/lessons/00_setup_check.ipynb)")
    assert template == site.BINDER_FALLBACK
    assert site.binder_url(template, "lessons/03_x.ipynb").endswith("urlpath=lab/tree/lessons/03_x.ipynb")
    assert site.binder_url(template, "lessons/03_x.ipynb", "me/bert").startswith("https://mybinder.org/v2/gh/me/bert/")
    assert site.binder_template("no link here") == site.BINDER_FALLBACK


def test_a_new_lesson_is_picked_up(tmp_path):
    (tmp_path / "lessons").mkdir()
    (tmp_path / "docs").mkdir()
    for name in site.DOCS:
        (tmp_path / "docs" / name).write_text(f"# {name}\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        f"# Course\n\nIntro.\n\n{site.BEGIN}\n| # | notebook |\n|---|---|\n| 06 | x |\n{site.END}\n", encoding="utf-8")
    for name, title in [("06_old.ipynb", "06 · Old"), ("07_new.ipynb", "07 · New")]:
        nbformat.write(notebook(nbformat.v4.new_markdown_cell(f"# {title}"), title=title), tmp_path / "lessons" / name)
    source = tmp_path / "src"
    (source / "lessons").mkdir(parents=True)
    (source / "lessons" / "05_removed.ipynb").write_text("{}")
    assert site.prepare_source(source, root=tmp_path) == ["06_old.ipynb", "07_new.ipynb"]
    assert "file: lessons/07_new" in (source / "_toc.yml").read_text()
    assert not (source / "lessons" / "05_removed.ipynb").exists(), "a removed lesson must leave the site"
    old = nbformat.read(source / "lessons" / "06_old.ipynb", as_version=4)
    assert "[07 · New](07_new.ipynb)" in old.cells[-1].source
    index = (source / "index.md").read_text()
    assert "| 06 | x |" in index and "Intro." in index and "python3 course.py site" in index
    stamp = (source / "_toc.yml").stat().st_mtime_ns
    site.prepare_source(source, root=tmp_path)
    assert (source / "_toc.yml").stat().st_mtime_ns == stamp, "unchanged files are not rewritten"


def test_toc_lists_lessons_in_order_then_reference():
    toc = site.toc_yaml(["00_a.ipynb", "01_b.ipynb"])
    assert toc.index("lessons/00_a") < toc.index("lessons/01_b") < toc.index("docs/glossary")


@pytest.mark.parametrize("text, kind, found", [
    ('<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>', "html", True),
    ('<script src="//unpkg.com/x.js"></script>', "html", True),
    ('<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Lato">', "html", True),
    ('<img src="http://example.org/a.png">', "html", True),
    ('<div style="background: url(https://x.org/a.png)">', "html", True),
    ('<style>@import "https://x.org/a.css";</style>', "html", True),
    ("@font-face { src: url('https://fonts.gstatic.com/a.woff2') }", "css", True),
    ('s.src = "https://cdn.example.com/require.js"', "js", True),
    ('<script src="../_static/mathjax/tex-chtml.js"></script>', "html", False),
    ('<a href="https://mybinder.org/v2/gh/x/y/HEAD">Binder</a>', "html", False),
    ('<link rel="canonical" href="https://example.org/">', "html", False),
    ('<img src="http://127.0.0.1:8000/a.png">', "html", False),
    ("src: url(../fonts/fa.woff2)", "css", False),
    ('const docs = "https://example.org/help"', "js", False),
])
def test_external_resource_scanner(text, kind, found):
    assert bool(site.external_resources(text, kind)) == found


def test_readme_lesson_map_is_what_lies_between_the_markers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = site.readme_lesson_map(readme)
    assert table.startswith("| # |") and "00_setup_check.ipynb" in table
    assert site.readme_lesson_map("no map") == ""
