"""Build the course as a static website: every lesson with its committed outputs, readable without installing anything.

    python3 course.py site                      # -> build/site/index.html (open it, or serve the folder)
    python3 course.py site --repo OWNER/REPO    # fill the Binder links (default: $GITHUB_REPOSITORY, else README's)
    python3 course.py site --out DIR            # build into DIR instead of build/site/

Look at it: ``python3 -m http.server --bind 127.0.0.1 --directory build/site 8000``, then http://127.0.0.1:8000/.

How: Jupyter Book 1 (Sphinx + MyST-NB, pip-only, pinned in requirements.txt). Each build writes a fresh book source
into ``build/site-src/`` (generated ``_config.yml`` and ``_toc.yml``, so no table of contents goes stale): the README's
lesson map as the home page, a copy of every ``lessons/*.ipynb`` (a glob: ``07_*.ipynb`` is picked up), and
``docs/glossary.md`` and ``docs/instructor.md``. Sphinx's own work files stay in ``build/site-work/``; the finished
site is copied to ``build/site/``.

What the copies change, and nothing else (code stays exactly as committed, with Hugging Face's names):
- notebooks are NOT executed: the site shows the outputs, figures and tables stored in the repository;
- a "Run it yourself" box after the title (the JupyterLab command and the Binder link from the README) and a link to
  the next lesson at the end;
- an explorer (an ipywidgets output) cannot run without a kernel, and the notebooks hold no widget state: its output
  becomes a still, a note box with the explorer's title and controls read from the committed text fallback, saying
  that it is live in JupyterLab. No widget JavaScript is loaded, so no page shows "Error displaying widget";
- solution cells are folded ("Click to show"), as they are hidden in JupyterLab;
- a link to ``../README.md`` points to the site's home page.

Offline and private: the site loads nothing from another host. MathJax comes from the pip package
``sphinx-mathjax-offline`` (a local copy under ``_static/mathjax/``); the theme's fonts and icons are its own
files. After each build every HTML, CSS and JavaScript file is scanned, and the build fails if a page would load a
script, style, font or image from another host (:func:`external_resources`). tests/test_site.py also opens every
page in Chromium and fails on any request to a host other than 127.0.0.1.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
DOCS = ("glossary.md", "instructor.md")
DEFAULT_OUT = ROOT / "build" / "site"
SOURCE = ROOT / "build" / "site-src"
WORK = ROOT / "build" / "site-work"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
BEGIN, END = "<!-- lesson-map:begin -->", "<!-- lesson-map:end -->"
LAB_COMMAND = "python3 course.py lab"
# The README's Binder link, with <OWNER>/<REPO> for the repository (filled from --repo or $GITHUB_REPOSITORY).
BINDER_FALLBACK = "https://mybinder.org/v2/gh/<OWNER>/<REPO>/HEAD?urlpath=lab/tree/lessons/00_setup_check.ipynb"
STILL_CLASS = "course-explorer-still"
LIVE_LINE = "This explorer is live in JupyterLab"
SITE_TITLE = "How BERT turns text into vectors"


def say(message: str) -> None:
    print(f"[site] {message}", flush=True)


# --- what goes on the site ------------------------------------------------------------------------------------------
def lesson_paths(lessons: Path = LESSONS) -> list[Path]:
    """Every lesson notebook, in order (a glob, so a new ``07_*.ipynb`` is picked up without editing anything)."""
    return sorted(p for p in lessons.glob("*.ipynb") if not p.name.startswith("."))


def lesson_title(nb, path: Path) -> str:
    """The lesson's title: ``metadata.course.title``, else its first heading, else the file name."""
    title = nb.metadata.get("course", {}).get("title")
    if title:
        return str(title)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    return path.stem


def readme_lesson_map(readme: str) -> str:
    """The lesson map table between the README's ``lesson-map`` markers ("" when the markers are missing)."""
    if BEGIN not in readme or END not in readme:
        return ""
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def binder_template(readme: str) -> str:
    """The README's Binder URL (its repository part may be the ``<OWNER>/<REPO>`` placeholder)."""
    match = re.search(r"\((https://mybinder\.org/v2/gh/[^)\s]+)\)", readme)
    return match.group(1) if match else BINDER_FALLBACK


def binder_url(template: str, lesson: str, repo: str | None = None) -> str:
    """The Binder link of ``template`` opening ``lesson`` (e.g. ``lessons/01_tokenization.ipynb``) in JupyterLab;
    ``repo`` ("owner/name") replaces the repository in it."""
    url = re.sub(r"urlpath=[^&#]*", f"urlpath=lab/tree/{lesson}", template, count=1)
    if repo:
        url = re.sub(r"(mybinder\.org/v2/gh/)[^/]+/[^/]+/", rf"\g<1>{repo}/", url, count=1)
    return url


# --- explorers: a still instead of a dead widget ---------------------------------------------------------------------
CONTROL_NAMES = {
    "IntSlider": "slider", "FloatSlider": "slider", "SelectionSlider": "slider", "IntRangeSlider": "range slider",
    "FloatRangeSlider": "range slider", "Dropdown": "drop-down", "Select": "list", "SelectMultiple": "list",
    "Text": "text box", "Textarea": "text area", "IntText": "number box", "BoundedIntText": "number box",
    "FloatText": "number box", "BoundedFloatText": "number box", "Checkbox": "check box",
    "ToggleButtons": "toggle buttons", "ToggleButton": "toggle button", "RadioButtons": "radio buttons",
    "Button": "button",
}
_CONTROL = re.compile(r"\b(" + "|".join(sorted(CONTROL_NAMES, key=len, reverse=True)) + r")\(")


def _unquote(text: str) -> str:
    return text.replace("\\'", "'").replace('\\"', '"').replace("\\n", " ")


@dataclass
class Explorer:
    """What the committed text fallback of an explorer says about it (it is cut off after ~100 characters)."""

    title: str
    controls: list[str]


def describe_explorer(text_plain: str) -> Explorer:
    """Read an explorer's title and first controls from its committed ``text/plain`` repr, e.g.
    ``VBox(children=(HTML(value='<b>Tokenizer explorer</b>'), HBox(children=(Text(value='Hi', description='text'…``.
    """
    text = text_plain or ""
    title = "Explorer"
    match = re.search(r"""HTML\(value=(['"])(.*?)(?<!\\)\1""", text)
    if match:
        inner = re.sub(r"<[^>]+>", "", _unquote(match.group(2))).strip()
        title = inner or title
    controls = []
    for found in _CONTROL.finditer(text):
        args = text[found.end():found.end() + 160]
        kind = CONTROL_NAMES[found.group(1)]
        label = re.search(r"""description=(['"])(.*?)(?<!\\)\1""", args)
        value = re.search(r"""^value=(?:(['"])(.*?)(?<!\\)\1|([-\w.]+))""", args)
        words = kind
        if label and label.group(2):
            words += f" “{_unquote(label.group(2))}”"
        if value:
            shown = _unquote(value.group(2) if value.group(2) is not None else value.group(3))
            if shown:
                words += f" (first value: {shown[:40] + '…' if len(shown) > 40 else shown})"
        controls.append(words)
    return Explorer(title, controls)


def explorer_still(text_plain: str, lesson: str, binder: str) -> str:
    """HTML for an explorer on the site: a note box with its title and controls, and the line saying it is live in
    JupyterLab (with the command and the Binder link). No script, no widget placeholder."""
    explorer = describe_explorer(text_plain)
    controls = ""
    if explorer.controls:
        items = "".join(f"<li>{html.escape(c)}</li>" for c in explorer.controls)
        controls = f"<p>Its controls include:</p><ul>{items}</ul>"
    return (
        f'<div class="admonition note {STILL_CLASS}">'
        f'<p class="admonition-title">{html.escape(explorer.title)}</p>'
        f"<p><strong>{LIVE_LINE}.</strong> A static page has no Python kernel, so here it is a still: in "
        f"JupyterLab you type text or move its controls and the output changes at once.</p>{controls}"
        f"<p>Run it yourself: <code>{LAB_COMMAND}</code>, open <code>{html.escape(lesson)}</code> and run the "
        f'lesson (Kernel → Restart Kernel and Run All Cells), or <a href="{html.escape(binder)}">open it on '
        f"Binder</a>.</p></div>"
    )


# --- one lesson as a site page --------------------------------------------------------------------------------------
def rewrite_links(markdown: str) -> str:
    """Links that leave the site: ``../README.md`` (the course's front page) becomes the site's home page."""
    return re.sub(r"\]\((?:\.\./)+README\.md(#[^)]*)?\)", r"](../index.md)", markdown)


def run_it_yourself(lesson: str, binder: str) -> str:
    return (
        ":::{admonition} Run it yourself\n:class: tip\n"
        "This page shows the lesson with the outputs stored in the course's repository; nothing runs here. To run "
        f"it, change it and move its explorers: `{LAB_COMMAND}` (it sets the course up the first time, then opens "
        f"JupyterLab) and open `{lesson}`, or [open it on Binder]({binder}) (no installation; the first start "
        "takes a few minutes).\n:::\n"
    )


def next_link(next_lesson: tuple[str, str] | None) -> str:
    """The closing cell: a link to the next lesson (file name, title), or back to the map after the last one."""
    if next_lesson is None:
        return ("---\n\nThis is the last lesson. Back to [the lesson map](../index.md) · "
                "[glossary](../docs/glossary.md) · [instructor guide](../docs/instructor.md)\n")
    name, title = next_lesson
    return f"---\n\n**Next lesson:** [{title}]({name}) →\n"


def site_notebook(nb, lesson: str, binder: str, next_lesson: tuple[str, str] | None):
    """A copy of ``nb`` for the site (see the module docstring); ``nb`` itself is left unchanged."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # saved widget state would make MyST-NB load widget JavaScript
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        if "solution" in tags and "hide-cell" not in tags:
            cell.metadata["tags"] = [*tags, "hide-cell"]
            cell.metadata["mystnb"] = {"code_prompt_show": "Show the solution", "code_prompt_hide": "Hide the solution"}
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_MIME in data:
                still = explorer_still(data.get("text/plain", ""), lesson, binder)
                output["data"] = {"text/html": still, "text/plain": f"{LIVE_LINE} (see the lesson in JupyterLab)"}
            data.pop(WIDGET_STATE_MIME, None)
    first_markdown = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(first_markdown + 1, nbformat.v4.new_markdown_cell(run_it_yourself(lesson, binder)))
    nb.cells.append(nbformat.v4.new_markdown_cell(next_link(next_lesson)))
    for cell in nb.cells:
        cell.pop("id", None)  # the new cells have random ids; without ids the copy is the same on every build
    nb.nbformat_minor = min(nb.nbformat_minor, 4)
    return nb


# --- the book: home page, table of contents, configuration ----------------------------------------------------------
def index_page(readme: str, binder: str, lessons: list[tuple[str, str]]) -> str:
    """The home page: what the course is, how to run it, the README's lesson map, the reference pages."""
    table = readme_lesson_map(readme)
    if not table:  # no map in the README: list the lessons themselves
        table = "\n".join(f"- [{title}](lessons/{name})" for name, title in lessons)
    intro = ""
    match = re.search(r"^# .+?\n\n(.+?)\n\n", readme, re.S)
    if match:
        intro = match.group(1).strip() + "\n\n"
    return (
        f"# {SITE_TITLE}\n\n{intro}"
        "This website shows every lesson with the outputs, figures and tables stored in the repository: read it "
        "without installing anything. Nothing runs here; the explorers (interactive widgets) are shown as stills.\n\n"
        "## Run it yourself\n\n"
        "```bash\n"
        f"{LAB_COMMAND}     # set up (first time: creates .venv/, a few minutes) and open the course in JupyterLab\n"
        "python3 course.py test    # run every test\n"
        "python3 course.py site    # build this website into build/site/\n"
        "```\n\n"
        f"No installation: [open the course on Binder]({binder}) (the first launch takes several minutes).\n\n"
        f"## Lesson map\n\n{table}\n\n"
        "## Reference\n\n"
        "- [Glossary English / 中文](docs/glossary.md)\n"
        "- [Instructor guide](docs/instructor.md): schedules, demos, misconceptions, sizing a JupyterHub\n"
    )


def toc_yaml(lessons: list[str]) -> str:
    """``_toc.yml`` for Jupyter Book: home, the lessons in order, the reference pages."""
    lines = ["# Generated by tools/site.py on every build; do not edit.", "format: jb-book", "root: index",
             "parts:", "  - caption: Lessons", "    chapters:"]
    lines += [f"      - file: lessons/{Path(name).stem}" for name in lessons]
    lines += ["  - caption: Reference", "    chapters:", "      - file: docs/glossary", "      - file: docs/instructor"]
    return "\n".join(lines) + "\n"


# Jupyter Book 1's own list (jupyter_book/config.py) without sphinx_thebe, which would put a script address on
# unpkg.com into every page (for its live-code button, which this site does not offer), plus sphinx-mathjax-offline:
# MathJax 3 from that pip package, copied into _static/mathjax/, no CDN. (sphinx_comments stays: it is off here.)
SPHINX_EXTENSIONS = ["sphinx_togglebutton", "sphinx_copybutton", "myst_nb", "jupyter_book", "sphinx_comments",
                     "sphinx_external_toc",
                     "sphinx.ext.intersphinx", "sphinx_design", "sphinx_book_theme", "sphinx-mathjax-offline"]


def config(repo_url: str | None = None) -> dict:
    """``_config.yml`` for Jupyter Book (written as JSON, which is YAML)."""
    footer = ("Read-only copy of the lessons with their committed outputs. Run them yourself: "
              f"<code>{LAB_COMMAND}</code>.")
    return {
        "title": SITE_TITLE,
        "author": "the course's authors",
        "copyright": "Code: MIT. Lesson text: CC BY 4.0",
        "only_build_toc_files": True,
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
        "execute": {"execute_notebooks": "off"},  # never run a lesson: show what is committed
        # heading_anchors: GitHub-style #slug links between sections (the instructor guide uses them) resolve
        "parse": {"myst_enable_extensions": ["colon_fence", "dollarmath", "substitution", "tasklist"],
                  "myst_heading_anchors": 3},
        "html": {
            "use_repository_button": False, "use_issues_button": False, "use_edit_page_button": False,
            "use_multitoc_numbering": False, "home_page_in_navbar": True, "extra_footer": footer,
            "comments": {"hypothesis": False, "utterances": False},
        },
        "launch_buttons": {"binderhub_url": "", "jupyterhub_url": "", "thebe": False, "colab_url": "",
                           "deepnote_url": "", "notebook_interface": "jupyterlab"},
        "repository": {"url": repo_url or "", "branch": "main"},
        "latex": {"use_jupyterbook_latex": False},
        "sphinx": {
            "config": {
                "extensions": SPHINX_EXTENSIONS,
                "suppress_warnings": ["myst.domains", "myst.header"],  # the docs' heading levels are theirs
                "nb_ipywidgets_js": {},  # never load ipywidgets' JavaScript (from a CDN): explorers are stills
                "html_show_sourcelink": False,
                # The theme's first visit otherwise logs "Got invalid theme mode" as a console error; light also
                # suits the figures (matplotlib draws on white).
                "html_context": {"default_mode": "light"},
                "html_theme_options": {"use_download_button": True, "use_fullscreen_button": False,
                                       "show_toc_level": 2, "navigation_with_keys": False},
            },
        },
    }


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds it (Sphinx then reuses its work for unchanged pages)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def prepare_source(source: Path = SOURCE, repo: str | None = None, root: Path = ROOT) -> list[str]:
    """Write the book's source into ``source``; return the lesson file names in order."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    template = binder_template(readme)
    paths = lesson_paths(root / "lessons")
    if not paths:
        raise SystemExit(f"[site] no lessons found in {root / 'lessons'}")
    notebooks = [nbformat.read(p, as_version=4) for p in paths]
    titles = [lesson_title(nb, p) for nb, p in zip(notebooks, paths)]
    wanted = {"_config.yml", "_toc.yml", "index.md"}
    for i, (path, nb) in enumerate(zip(paths, notebooks)):
        rel = f"lessons/{path.name}"
        following = (paths[i + 1].name, titles[i + 1]) if i + 1 < len(paths) else None
        page = site_notebook(nb, rel, binder_url(template, rel, repo), following)
        write_if_changed(source / rel, nbformat.writes(page) + "\n")
        wanted.add(rel)
    for name in DOCS:
        write_if_changed(source / "docs" / name, rewrite_links((root / "docs" / name).read_text(encoding="utf-8")))
        wanted.add(f"docs/{name}")
    home = binder_url(template, "lessons/00_setup_check.ipynb" if (root / "lessons/00_setup_check.ipynb").exists()
                      else f"lessons/{paths[0].name}", repo)
    write_if_changed(source / "index.md", index_page(readme, home, list(zip([p.name for p in paths], titles))))
    repo_url = f"https://github.com/{repo}" if repo else None
    write_if_changed(source / "_config.yml", json.dumps(config(repo_url), indent=1, ensure_ascii=False) + "\n")
    write_if_changed(source / "_toc.yml", toc_yaml([p.name for p in paths]))
    for stale in [p for p in source.rglob("*") if p.is_file()]:  # a lesson renamed or removed since the last build
        if stale.relative_to(source).as_posix() not in wanted:
            stale.unlink()
    return [p.name for p in paths]


# --- offline check --------------------------------------------------------------------------------------------------
# What makes a browser fetch a resource: src/href of script, img, iframe, source, audio, video, embed, link (except
# plain navigation links such as rel="canonical"), srcset/poster/data, CSS url() and @import, and JavaScript that
# loads a script or module from an absolute URL.
_TAG = re.compile(r"<(script|img|iframe|source|audio|video|embed|object|link|track|input|image|use)\b([^>]*)>", re.I)
_ATTR = re.compile(r"""\b(src|href|srcset|poster|data|xlink:href)\s*=\s*(["'])(.*?)\2""", re.I)
_REL = re.compile(r"""\brel\s*=\s*(["'])(.*?)\1""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(https?:)?//([^"')\s]+)\1\s*\)|@import\s+(["'])(https?:)?//([^"']+)\4""", re.I)
_JS_LOAD = re.compile(
    r"""(?:\.src\s*=|import\s*\(|importScripts\s*\(|loadScript\s*\(|\bsrc\s*:)\s*(["'`])((?:https?:)?//[^"'`]+)\1""")
_NAVIGATION_RELS = {"canonical", "alternate", "author", "license", "help", "search", "next", "prev", "index",
                    "glossary", "copyright", "me", "bookmark", "nofollow", "noopener", "noreferrer", "external"}


def _external(url: str) -> bool:
    url = url.strip().split(",")[0].split()[0] if url.strip() else ""
    return bool(re.match(r"^(https?:)?//", url, re.I)) and not re.match(r"^(https?:)?//(127\.0\.0\.1|localhost)\b", url)


def external_resources(text: str, kind: str) -> list[str]:
    """Absolute URLs a browser would LOAD from this HTML, CSS or JavaScript text (``kind``: html, css or js).
    Links a reader may click (``<a href>``, ``<link rel="canonical">``) are not loads and are not reported."""
    found = []
    if kind == "html":
        for tag, attrs in _TAG.findall(text):
            if tag.lower() == "link":
                rel = _REL.search(attrs)
                rels = set((rel.group(2) if rel else "").lower().split())
                if rels and rels <= _NAVIGATION_RELS:
                    continue
            for _name, _quote, value in _ATTR.findall(attrs):
                if _external(value):
                    found.append(f"<{tag} {value}>")
        for block in re.findall(r"<style\b[^>]*>(.*?)</style>", text, re.S | re.I):
            found += external_resources(block, "css")
        for block in re.findall(r"<script\b[^>]*>(.*?)</script>", text, re.S | re.I):
            found += external_resources(block, "js")
        for value in re.findall(r"""\bstyle\s*=\s*["']([^"']*url\([^"']*)["']""", text, re.I):
            found += external_resources(value, "css")
    elif kind == "css":
        for match in _CSS_URL.finditer(text):
            host = match.group(3) or match.group(6)
            if not re.match(r"(127\.0\.0\.1|localhost)\b", host):
                found.append(f"url(//{host})")
    elif kind == "js":
        found += [f"script loads {url}" for _q, url in _JS_LOAD.findall(text) if _external(url)]
    return found


def scan_site(out: Path) -> dict[str, list[str]]:
    """Every external resource a built page, style sheet or script would load: {file: [what]} (empty when clean)."""
    problems = {}
    for path in sorted(out.rglob("*")):
        kind = {".html": "html", ".htm": "html", ".css": "css", ".js": "js", ".mjs": "js"}.get(path.suffix)
        if kind is None or not path.is_file():
            continue
        found = external_resources(path.read_text(encoding="utf-8", errors="replace"), kind)
        if found:
            problems[path.relative_to(out).as_posix()] = sorted(set(found))
    return problems


# --- build ----------------------------------------------------------------------------------------------------------
def run_jupyter_book(source: Path, work: Path) -> None:
    """``jupyter-book build`` (Jupyter Book 1, from this Python) on ``source``; its output goes to work/_build/html."""
    cmd = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
           "build", str(source), "--path-output", str(work), "--builder", "html", "--keep-going",
           # Write every page (Sphinx re-reads only changed sources): each page's side bar lists all lessons, so
           # a new or renamed lesson must reach the pages that did not change themselves.
           "--all"]
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # Sphinx colours its messages
    (work / "build.log").write_text(log, encoding="utf-8")
    warnings = [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln]
    for line in warnings[:40]:
        say(line.replace(str(ROOT) + os.sep, ""))
    if result.returncode != 0 or not (work / "_build" / "html" / "index.html").exists():
        tail = "\n".join(log.splitlines()[-30:])
        raise SystemExit(f"[site] jupyter-book build failed (exit {result.returncode}); log in {work / 'build.log'}:"
                         f"\n{tail}")


def build(out: Path = DEFAULT_OUT, repo: str | None = None, source: Path = SOURCE, work: Path = WORK) -> Path:
    """Build the site into ``out`` and return the path of its home page."""
    missing = [name for name in ("jupyter_book", "sphinx-mathjax-offline") if not _importable(name)]
    if missing:
        raise SystemExit(f"[site] missing packages {missing}: run `python3 course.py setup` (requirements.txt pins "
                         f"them), or use `python3 course.py site`, which installs them first.")
    started = time.perf_counter()
    lessons = prepare_source(source, repo)
    say(f"building {len(lessons)} lessons + glossary + instructor guide with Jupyter Book (notebooks not executed)")
    work.mkdir(parents=True, exist_ok=True)
    run_jupyter_book(source, work)
    built = work / "_build" / "html"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(built, out, ignore=shutil.ignore_patterns(".buildinfo"))
    (out / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ and friends as they are
    problems = scan_site(out)
    if problems:
        listing = "\n".join(f"  {page}: {', '.join(found[:5])}" for page, found in problems.items())
        raise SystemExit(f"[site] the built site would load resources from other hosts:\n{listing}")
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    say(f"done in {time.perf_counter() - started:.0f} s: {shown}/index.html (look at it: "
        f"python3 -m http.server --bind 127.0.0.1 --directory {shown} 8000, then http://127.0.0.1:8000/)")
    return out / "index.html"


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 course.py site", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: build/site/)")
    parser.add_argument("--repo", default=os.environ.get("GITHUB_REPOSITORY") or None,
                        help="GitHub repository OWNER/REPO for the Binder links (default: $GITHUB_REPOSITORY)")
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.repo)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
