"""Measure the course on this machine: lesson times against the floor, loader overhead, explorer latency, memory.

    python3 course.py bench                          # everything, every lesson (a few minutes)
    python3 course.py bench --lessons 00 03          # only lessons whose file name starts with these
    python3 course.py bench --skip-parallel          # no 4-kernel memory run
    python3 course.py bench --repeats 3              # each lesson and the floor 3 times, medians (steadier)
    python3 course.py bench --strict                 # exit 1 when a figure misses its target

Lesson times are judged as multiples of the **floor**, measured in the same run and timed the same way: a fresh
kernel that imports torch and transformers and loads the model with the course's loader, nothing else. Seconds on a
shared machine swing by 30 %; the ratio swings much less, because a slow minute slows the floor too.

Prints a table and writes the figures as JSON to ``bench/results/<date>.json`` (git-ignored). What each figure
means and the targets: ``bench/README.md``. This is a benchmark, not a test: it reports, it does not assert
(except with ``--strict``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # nbexec, also when this file is imported from elsewhere
from nbexec import notebook_client  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MIB = 1024 * 1024
TARGETS = {  # see bench/README.md; times as multiples of the floor measured in the same run, not seconds
    "lesson_ratio": 2.5,  # each lesson's kernel start + Run All ≤ 2.5 × the floor's
    "loader_ratio": 1.1,
    "widget_median_ms": 100.0,
    "kernel_peak_rss_mib": 700.0,
}
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}

# Run inside a lesson's kernel after its last cell: the kernel's peak RSS so far, then each explorer driven through
# its controls. Every value change fires the explorer's observer, which times its own update (``box.timings``).
PROBE = r'''
def _course_bench_probe(n_updates):
    import contextlib, io, json, re, resource, time
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    def next_value(control, attr, original, step):
        # The next value to try, from the control's state now: options may change when another control moves.
        value = getattr(control, attr)
        if attr == "index":
            n = len(control.options)
            return None if n < 2 else (value + max(1, n // 7)) % n
        if isinstance(value, bool):
            return not value
        if isinstance(value, (int, float)) and hasattr(control, "min") and hasattr(control, "max"):
            lo, hi = control.min, control.max
            grid = sorted({round(lo + (hi - lo) * i / 7) for i in range(8)}) if isinstance(value, int) else \
                [lo + (hi - lo) * i / 7 for i in range(8)]
            if hasattr(control, "base"):  # FloatLogSlider: min and max are exponents
                grid = [control.base ** g for g in grid]
            later = [g for g in grid if g > value]
            return later[0] if later else grid[0]
        if isinstance(value, (int, float)):
            return original + step % 5 + 1
        if isinstance(value, str):
            # Variations of the learner's default text, so it stays valid input (e.g. keeps its [MASK]).
            variants = [f"Indeed, {original}", f"{original} Really.", f"Today, {original}", original]
            return variants[step % len(variants)]
        if isinstance(value, tuple) and len(value) == 2 and hasattr(control, "min"):
            lo, hi = control.min, control.max
            mid = type(lo)((lo + hi) / 2)
            picks = [(lo, hi), (lo, mid), (mid, hi)]
            return picks[step % 3]
        return None

    from utils.widgets import live_explorers

    report = {"peak_rss_mib": peak_mib, "explorers": []}
    for number, box in enumerate(live_explorers(), 1):
        title = getattr(box.children[0], "value", "").replace("<b>", "").replace("</b>", "") or f"explorer {number}"
        plans = []
        for name, control in box.controls.items():
            options, index = getattr(control, "options", None), getattr(control, "index", None)
            attr = "index" if options is not None and isinstance(index, int) else "value"
            if next_value(control, attr, getattr(control, attr), 0) is not None:
                plans.append({"name": name, "control": control, "attr": attr, "original": getattr(control, attr),
                              "steps": 0, "failures": 0})
        first, walls, moved, errors, refused = len(box.timings), [], [], 0, []
        turn = 0
        while plans and len(walls) < n_updates and turn < 20 * n_updates:
            plan = plans[turn % len(plans)]
            turn += 1
            control, attr = plan["control"], plan["attr"]
            value = next_value(control, attr, plan["original"], plan["steps"])
            plan["steps"] += 1
            if value is None or value == getattr(control, attr):
                continue
            printed = io.StringIO()  # the kernel never sees an Output widget's contents; read what render prints
            try:
                with contextlib.redirect_stdout(printed):
                    start = time.perf_counter()
                    setattr(control, attr, value)  # fires the explorer's observer: one update
                    walls.append(time.perf_counter() - start)
                    moved.append(plan["name"])
            except Exception as exc:  # a value this control refuses: note it, drop the control after 3
                refused.append(f"{plan['name']}={value!r}: {type(exc).__name__}")
                plan["failures"] += 1
                if plan["failures"] >= 3:
                    plans.remove(plan)
                continue
            if re.search(r"^\w*(Error|Exception): ", printed.getvalue(), re.M):
                errors += 1
        updates = box.timings[first:]  # one per value set, or more when a control moves another one
        for plan in plans:
            try:
                setattr(plan["control"], plan["attr"], plan["original"])
            except Exception:
                pass
        report["explorers"].append({
            "title": title, "controls": list(box.controls), "updates": updates,
            "walls": walls, "moved": moved, "errors": errors, "refused": refused[:5],
        })
    print("@@BENCH@@" + json.dumps(report))
'''

LOADER = r'''
import json, sys, time
t0 = time.perf_counter()
import torch, transformers  # the same imports both ways; not part of the comparison
t1 = time.perf_counter()
if sys.argv[1] == "course":
    from utils import load_model
    tokenizer, model = load_model()
else:
    from transformers import AutoTokenizer, BertModel
    tokenizer = AutoTokenizer.from_pretrained(sys.argv[2])
    model = BertModel.from_pretrained(sys.argv[2])
t2 = time.perf_counter()
assert model.config.hidden_size == 384 and tokenizer.vocab_size == 30522
print(json.dumps({"load_s": t2 - t1, "imports_s": t1 - t0}))
'''


# --- small helpers ------------------------------------------------------------------------------------------------
def median(values):
    return statistics.median(values) if values else None


def p95(values):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * (len(ordered) - 1))))]


def smaps_rollup(pid: int) -> dict:
    """Rss and Pss of a process in MiB, from /proc/<pid>/smaps_rollup (Linux)."""
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 3 and parts[0] in ("Rss:", "Pss:"):
                    fields[parts[0][:-1].lower()] = int(parts[1]) / 1024
    except OSError:
        return {}
    return fields


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count()}
    try:
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["mem_gib"] = round(int(line.split()[1]) / MIB, 1)
    except OSError:
        pass
    try:
        info["load_avg_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def cpu_check(repeats: int = 5) -> float | None:
    """Milliseconds for a fixed mix of small one-thread torch operations (best of ``repeats``), measured at the start
    and the end of a run: on a shared VM the same lesson can take 30 % longer from one minute to the next, and this
    says whether the machine was slow while the figures were taken."""
    try:
        import torch
    except ImportError:
        return None
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(0)
        a, b = torch.randn(768, 64, generator=generator), torch.randn(64, 256, generator=generator)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(200):  # shapes like lesson 06's training step: many small ops
                torch.nn.functional.gelu(a @ b).softmax(-1).sum()
            best = min(best, time.perf_counter() - start)
        return round(1000 * best, 1)
    finally:
        torch.set_num_threads(previous)


def lessons(prefixes: list[str]) -> list[Path]:
    found = sorted((ROOT / "lessons").glob("*.ipynb"))
    return [p for p in found if not prefixes or any(p.name.startswith(x) for x in prefixes)]


# --- one lesson in one fresh kernel -------------------------------------------------------------------------------
async def run_lesson(path: Path, n_updates: int = 30, probe: bool = True, on_pid=None, hold=None,
                     cell_timeout: int = 300, nb=None, name: str | None = None) -> dict:
    """Run all cells of ``path`` in a fresh kernel; time it; optionally probe memory and explorers inside it.

    ``nb`` (with ``name``) runs that notebook instead of the file's, in the file's folder: the floor's one cell."""
    import nbformat
    from nbclient.exceptions import CellExecutionError
    from nbclient.util import ensure_async

    if nb is None:
        nb = nbformat.read(path, as_version=4)
    # nbexec's client, as `course.py regen` uses: nbclient without its Output-widget echo, which can hang a run.
    client = notebook_client(nb, str(path.parent), timeout=cell_timeout)
    client.reset_execution_trackers()
    result = {"lesson": name or path.name, "error": None}
    started = time.perf_counter()
    # The kernel's stderr carries only ipykernel's start-up notices; cell errors arrive as messages.
    async with client.async_setup_kernel(stderr=subprocess.DEVNULL):
        result["kernel_start_s"] = time.perf_counter() - started
        pid = getattr(client.km.provisioner, "pid", None)
        result["kernel_pid"] = pid
        if on_pid:
            on_pid(pid)
        await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
        run_started = time.perf_counter()
        index = 0
        try:
            for index, cell in enumerate(nb.cells):
                await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        except CellExecutionError as exc:
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
            result["error"] = f"cell {index + 1}: {text[-1][:300] if text else 'error'}"
        except Exception as exc:  # a timeout or a dead kernel: report it and go on with the next lesson
            result["error"] = f"cell {index + 1}: {type(exc).__name__}: {str(exc).strip()[:300]}"
        result["run_all_s"] = time.perf_counter() - run_started
        result["fresh_kernel_s"] = time.perf_counter() - started
        if pid:
            result["after_run"] = smaps_rollup(pid)
        if probe and not result["error"]:
            cell = nbformat.v4.new_code_cell(PROBE + f"\n_course_bench_probe({n_updates})\n")
            nb.cells.append(cell)
            try:
                await client.async_execute_cell(cell, len(nb.cells) - 1, execution_count=client.code_cells_executed + 1)
                text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
                line = next(ln for ln in text.splitlines() if ln.startswith("@@BENCH@@"))
                result.update(json.loads(line[len("@@BENCH@@"):]))
            except Exception as exc:  # the figures above stay valid without the probe's
                text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
                result["probe_error"] = f"{type(exc).__name__}: {text[-1][:300] if text else ''}"
        if hold:
            await hold()
    return result


# --- 1. lessons one by one, and the floor -------------------------------------------------------------------------
# The least any lesson can cost: a fresh kernel that imports torch and transformers and loads the model with the
# course's loader, nothing else. Timed like a lesson (kernel start + run), in the same rounds, so a slow minute on a
# shared machine moves the floor and the lessons alike, and a lesson's time divided by it stays comparable.
FLOOR_CELL = """\
import torch, transformers
from utils import setup, load_model

setup()
tokenizer, model = load_model()
"""
FLOOR_NAME = "floor"


def run_floor(cell_timeout: int = 300) -> dict:
    """The floor once, in a fresh kernel started in ``lessons/`` like a lesson's."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(FLOOR_CELL))
    return asyncio.run(run_lesson(ROOT / "lessons" / "floor.ipynb", probe=False, cell_timeout=cell_timeout, nb=nb,
                                  name=FLOOR_NAME))


def bench_lessons(paths: list[Path], n_updates: int, repeats: int = 1, floor: bool = True) -> tuple[list[dict],
                                                                                                   dict | None]:
    """Each lesson ``repeats`` times in fresh kernels, in rounds (00…06, 00…06, …) so a slow minute on a shared
    machine touches every lesson alike, and the floor once per round, in the middle of it. Before the first round
    the floor runs once uncounted, so no measured kernel pays for reading torch and transformers from disk.
    One row per lesson (see :func:`combine_runs`) and the floor's figures (see :func:`combine_floor`)."""
    runs: dict[str, list[dict]] = {path.name: [] for path in paths}
    floors: list[dict] = []
    warmup = None
    if floor:
        print("[bench] floor warm-up (not counted): fresh kernel, import torch + transformers, load_model() ...",
              flush=True)
        warmup = run_floor()
    middle = len(paths) // 2
    for round_ in range(repeats):
        also = f" (round {round_ + 1} of {repeats})" if repeats > 1 else ""
        for i, path in enumerate(paths):
            if floor and i == middle:
                print(f"[bench] floor: fresh kernel, import torch + transformers, setup(), load_model(){also} ...",
                      flush=True)
                floors.append(run_floor())
            print(f"[bench] running {path.name} in a fresh kernel{also} ...", flush=True)
            result = asyncio.run(run_lesson(path, n_updates))
            for explorer in result.get("explorers", []):
                ms = [1000 * s for s in explorer.pop("updates")]
                walls = [1000 * s for s in explorer.pop("walls")]
                moved = explorer.pop("moved", [])
                by_control = {name: median([w for w, m in zip(walls, moved) if m == name])
                              for name in dict.fromkeys(moved)}
                explorer.update(n=len(ms), median_ms=median(ms), p95_ms=p95(ms), max_ms=max(ms) if ms else None,
                                set_median_ms=median(walls), set_p95_ms=p95(walls), median_ms_by_control=by_control)
            runs[path.name].append(result)
    floor_row = combine_floor(floors, warmup) if floor else None
    return [combine_runs(runs[path.name]) for path in paths], floor_row


def combine_floor(runs: list[dict], warmup: dict | None = None) -> dict:
    """The floor's runs as one figure: the median kernel start + run of the runs that did not fail.

    A failed run (the loader raised, a timeout) is left out of the median and its error kept; with no run left the
    floor is ``None`` and no lesson gets a ratio."""
    good = [r for r in runs if not r.get("error") and "fresh_kernel_s" in r]
    row = {
        "floor_s": median([r["fresh_kernel_s"] for r in good]),
        "run_all_s": median([r["run_all_s"] for r in good]),
        "kernel_start_s": median([r["kernel_start_s"] for r in good]),
        "runs_s": [r.get("fresh_kernel_s") for r in runs],
        "errors": [r["error"] for r in runs if r.get("error")],
        "rss_after_mib": median([r["after_run"]["rss"] for r in good if r.get("after_run", {}).get("rss")]),
    }
    if warmup is not None:
        row["warmup_s"] = warmup.get("fresh_kernel_s")
        if warmup.get("error"):
            row["errors"].insert(0, f"warm-up: {warmup['error']}")
    return row


def ratio_verdict(seconds: float | None, floor_s: float | None, error: str | None = None,
                  target: float | None = None) -> tuple[float | None, str]:
    """A lesson's Restart-and-Run-All time as a multiple of the floor, and its verdict against the target.

    The ratio is rounded to the 2 decimals the report prints before it is compared, so a lesson shown as 2.50× is
    met. A lesson that stopped on an error has no meaningful time: its verdict is ``error`` whatever its ratio.
    Verdicts: ``met``, ``over``, ``error``, ``no floor`` (the floor failed or was not measured)."""
    target = TARGETS["lesson_ratio"] if target is None else target
    ratio = round(seconds / floor_s, 2) if seconds is not None and floor_s else None
    if error:
        return ratio, "error"
    if ratio is None:
        return None, "no floor"
    return ratio, "met" if ratio <= target else "over"


def apply_ratios(lessons_: list[dict], floor_s: float | None) -> None:
    """Write each lesson's ``floor_ratio`` and ``verdict`` into its row."""
    for row in lessons_:
        row["floor_ratio"], row["verdict"] = ratio_verdict(row.get("fresh_kernel_s"), floor_s, row.get("error"))


def combine_runs(results: list[dict]) -> dict:
    """One lesson's runs as one row: median times, the largest peak RSS, and the explorers of the median run.

    Any run's error is kept (a lesson that fails once is not fine). The single times stay in ``runs_*``.
    """
    if len(results) == 1:
        return results[0]
    finished = [r for r in results if "fresh_kernel_s" in r] or results
    ordered = sorted(finished, key=lambda r: r.get("fresh_kernel_s", 0.0))
    row = dict(ordered[(len(ordered) - 1) // 2])
    for key in ("run_all_s", "fresh_kernel_s", "kernel_start_s"):
        values = [r[key] for r in finished if key in r]
        row[f"runs_{key}"] = values
        row[key] = median(values)
    peaks = [r["peak_rss_mib"] for r in results if r.get("peak_rss_mib")]
    row["peak_rss_mib"] = max(peaks) if peaks else None
    row["error"] = next((r["error"] for r in results if r.get("error")), None)
    return row


# --- 2. loader against a bare from_pretrained ---------------------------------------------------------------------
def bench_loader(repeats: int) -> dict:
    from utils.model import default_checkpoint_dir

    folder = str(default_checkpoint_dir())
    env = {**os.environ, **OFFLINE}

    def once(mode: str) -> dict:
        out = subprocess.run([sys.executable, "-c", LOADER, mode, folder], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"loader run ({mode}) failed:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    print(f"[bench] loader: {repeats} fresh processes each way, alternating (plus one warm-up each) ...", flush=True)
    once("course"), once("bare")  # warm the page cache so neither side pays the first disk read
    times = {"course": [], "bare": []}
    for i in range(repeats):
        order = ("course", "bare") if i % 2 == 0 else ("bare", "course")
        for mode in order:
            times[mode].append(once(mode)["load_s"])
    course, bare = median(times["course"]), median(times["bare"])
    return {"course_s": times["course"], "bare_s": times["bare"], "course_median_s": course,
            "bare_median_s": bare, "ratio": course / bare}


# --- 3. memory with several kernels at once -----------------------------------------------------------------------
def worker_main(path: str, n_updates: int) -> None:
    """``bench.py --worker LESSON``: run one lesson, report, keep the kernel alive until stdin closes."""

    def say(**kw):
        print(json.dumps(kw), flush=True)

    async def hold():
        say(done=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    try:
        result = asyncio.run(run_lesson(Path(path), n_updates, probe=False, on_pid=lambda pid: say(pid=pid),
                                        hold=hold))
        say(result={k: result.get(k) for k in ("lesson", "error", "run_all_s", "fresh_kernel_s")})
    except Exception as exc:  # report, so the parent does not wait forever
        say(done=True, failed=f"{type(exc).__name__}: {exc}")


def bench_parallel(path: Path, kernels: int) -> dict:
    print(f"[bench] memory: {kernels} kernels running {path.name} at once ...", flush=True)
    env = {**os.environ, **OFFLINE}
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) for _ in range(kernels)]
    pids: dict[int, int] = {}
    done: set[int] = set()
    failures: list[str] = []
    peaks: dict[int, dict] = {}
    peak_total = {"pss": 0.0, "rss": 0.0}
    lock = threading.Lock()

    def read(i: int, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            with lock:
                if "pid" in msg:
                    pids[i] = msg["pid"]
                if msg.get("done"):
                    done.add(i)
                if msg.get("failed"):
                    failures.append(msg["failed"])
                if (msg.get("result") or {}).get("error"):  # the lesson stopped: the memory figures are not its
                    failures.append(f"kernel {i + 1}: {msg['result']['error']}")

    readers = [threading.Thread(target=read, args=(i, p), daemon=True) for i, p in enumerate(procs)]
    for thread in readers:
        thread.start()
    started = time.perf_counter()
    deadline = started + 900
    while time.perf_counter() < deadline:
        with lock:
            current = dict(pids)
            finished = len(done)
        sample = {i: smaps_rollup(pid) for i, pid in current.items()}
        for i, fields in sample.items():
            for key, value in fields.items():
                peaks.setdefault(i, {}).setdefault(key, 0.0)
                peaks[i][key] = max(peaks[i][key], value)
        for key in ("pss", "rss"):
            peak_total[key] = max(peak_total[key], sum(f.get(key, 0.0) for f in sample.values()))
        if finished == kernels:
            break
        time.sleep(0.2)
    wall = time.perf_counter() - started
    time.sleep(1.0)
    settled = {i: smaps_rollup(pid) for i, pid in pids.items()}  # all kernels alive and idle
    for proc in procs:
        try:
            proc.stdin.close()
        except OSError:
            pass
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    for thread in readers:  # each worker's last line says whether its lesson ran through
        thread.join(timeout=5)
    settled_pss = [f.get("pss", 0.0) for f in settled.values()]
    peak_pss = [p.get("pss", 0.0) for p in peaks.values()]
    return {
        "lesson": path.name, "kernels": kernels, "wall_s": wall, "failures": failures,
        "peak_pss_mib": peak_pss, "peak_rss_mib": [p.get("rss", 0.0) for p in peaks.values()],
        "settled_pss_mib": settled_pss, "settled_rss_mib": [f.get("rss", 0.0) for f in settled.values()],
        "peak_total_pss_mib": peak_total["pss"], "peak_total_rss_mib": peak_total["rss"],
        "pss_per_kernel_mib": max(peak_pss) if peak_pss else None,
    }


# --- report -------------------------------------------------------------------------------------------------------
def fmt(value, digits=1, unit=""):
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def verdict(value, target) -> str:
    return "" if value is None else ("met" if value <= target else "over")


def print_report(report: dict) -> list[str]:
    """Print the tables; return the targets missed (what ``--strict`` fails on)."""
    misses = []
    m = report["machine"]
    s = report["summary"]
    print(f"\nMachine: {m.get('cpu', '?')}, {m.get('cpus_usable', m.get('cpu_count'))} usable cores, "
          f"{m.get('mem_gib', '?')} GiB RAM, Python {m['python']}, torch {m.get('torch', '?')} "
          f"({m.get('torch_threads', '?')} threads); load average at start {m.get('load_avg_start')}, "
          f"at the end {m.get('load_avg_end')}")
    print(f"CPU check (fixed small-op workload, lower is faster): {m.get('cpu_check_ms_start')} ms at the start, "
          f"{m.get('cpu_check_ms_end')} ms at the end")
    lessons_ = report.get("lessons", [])
    floor = report.get("floor") or {}
    floor_s = floor.get("floor_s")
    if lessons_:
        repeated = any("runs_fresh_kernel_s" in r for r in lessons_)
        if repeated:
            print(f"\nmedian of {len(lessons_[0]['runs_fresh_kernel_s'])} runs per lesson (+kernel of every run in "
                  f"brackets); peak RSS is the largest of the runs")
        print(f"\n{'lesson':<32} {'Run All':>8} {'+kernel':>8} {'× floor':>8} {'verdict':>8} {'peak RSS':>9} "
              f"{'explorers (median / p95 ms)'}")
        if floor:
            runs = ", ".join(fmt(t, 1) for t in floor.get("runs_s", []))
            print(f"{'floor: imports + load_model()':<32} {fmt(floor.get('run_all_s'), 1, ' s'):>8} "
                  f"{fmt(floor_s, 1, ' s'):>8} {'1.00×' if floor_s else '—':>8} {'':>8} {'':>9} "
                  f"[{runs}]{'  ERRORS: ' + '; '.join(floor['errors']) if floor.get('errors') else ''}")
        for r in lessons_:
            explorers = ", ".join(f"{e['title'][:28]}: {fmt(e['median_ms'], 1)} / {fmt(e['p95_ms'], 1)}"
                                  f"{' (' + str(e['errors']) + ' errors)' if e['errors'] else ''}"
                                  for e in r.get("explorers", [])) or "none"
            flag = ""
            if r.get("error"):
                flag = f"  ERROR: {r['error']}"
            elif r.get("probe_error"):
                flag = f"  probe failed: {r['probe_error'][:120]}"
            each = ""
            if "runs_fresh_kernel_s" in r:
                each = f"  [{', '.join(f'{t:.1f}' for t in r['runs_fresh_kernel_s'])}]"
            print(f"{r['lesson']:<32} {fmt(r.get('run_all_s'), 1, ' s'):>8} {fmt(r.get('fresh_kernel_s'), 1, ' s'):>8} "
                  f"{fmt(r.get('floor_ratio'), 2, '×'):>8} {r.get('verdict', ''):>8} "
                  f"{fmt(r.get('peak_rss_mib'), 0, ' MiB'):>9} {explorers}{flag}{each}")
        for r in lessons_:
            for e in r.get("explorers", []):
                if (e.get("median_ms") or 0) > TARGETS["widget_median_ms"] and e.get("median_ms_by_control"):
                    parts = ", ".join(f"{k} {v:.0f}" for k, v in e["median_ms_by_control"].items())
                    print(f"  note: {r['lesson']} / {e['title'][:40]}: median ms by control moved: {parts}")
                if e.get("refused"):
                    print(f"  note: {r['lesson']} / {e['title'][:40]} refused {len(e['refused'])}+ values: "
                          f"{'; '.join(e['refused'][:3])}")
        course = s.get("course_s")
        print(f"{'total' + (' of the medians' if repeated else ''):<32} {fmt(s.get('course_run_all_s'), 1, ' s'):>8} "
              f"{fmt(course, 1, ' s'):>8} {fmt(s.get('course_floors'), 1, '×'):>8}   (reported, no target)")
        if floor.get("warmup_s") is not None:
            print(f"  the floor's uncounted warm-up run took {floor['warmup_s']:.1f} s")
    print("\nTargets (time targets are multiples of the floor measured in this run):")
    if lessons_:
        target = TARGETS["lesson_ratio"]
        over = [r["lesson"] for r in lessons_ if r.get("verdict") == "over"]
        failed = [r["lesson"] for r in lessons_ if r.get("verdict") == "error"]
        if floor_s is None:
            mark = "no floor"
            misses.append("each lesson ≤ floor ratio (no floor measured)")
        else:
            mark = "met" if not over and not failed else "over" if over else "error"
            misses += [f"{name} over {target:g}× floor" for name in over]
            misses += [f"{name} stopped on an error" for name in failed]
        slowest = s.get("slowest_lesson")
        value = f"{fmt(s.get('slowest_lesson_ratio'), 2, '×')} ({Path(slowest).stem})" if slowest else "—"
        print(f"  {'each lesson, fresh kernel + Run All':<36} {value:>22}   target ≤ {target:g}× floor "
              f"({fmt(floor_s, 1, ' s')})   {mark}")
        for name in over:
            print(f"    over: {name}")
        for name in failed:
            print(f"    error (no valid time): {name}")
    rows = [
        ("loader / bare from_pretrained", s.get("loader_ratio"), "loader_ratio", "×"),
        ("slowest explorer, median update", s.get("widget_median_ms"), "widget_median_ms", " ms"),
        ("largest kernel peak RSS", s.get("kernel_peak_rss_mib"), "kernel_peak_rss_mib", " MiB"),
    ]
    for label, value, key, unit in rows:
        mark = verdict(value, TARGETS[key])
        if mark == "over":
            misses.append(label)
        digits = 2 if key == "loader_ratio" else (0 if key == "kernel_peak_rss_mib" else 1)
        print(f"  {label:<36} {fmt(value, digits, unit):>22}   target ≤ {TARGETS[key]:g}{unit}   {mark}")
    loader = report.get("loader")
    if loader:
        print(f"  loader medians: course {loader['course_median_s']:.2f} s, bare {loader['bare_median_s']:.2f} s "
              f"({len(loader['course_s'])} runs each)")
    widget_p95 = s.get("widget_p95_ms")
    if widget_p95 is not None:
        print(f"  slowest explorer p95 update: {widget_p95:.1f} ms")
    par = report.get("parallel")
    if par:
        print(f"\n{par['kernels']} kernels running {par['lesson']} at once: {par['wall_s']:.1f} s wall; "
              f"PSS per kernel peak {', '.join(f'{v:.0f}' for v in par['peak_pss_mib'])} MiB, "
              f"settled {', '.join(f'{v:.0f}' for v in par['settled_pss_mib'])} MiB; "
              f"total PSS peak {par['peak_total_pss_mib']:.0f} MiB (RSS would say {par['peak_total_rss_mib']:.0f})")
        if par["failures"]:
            misses.append("4-kernel memory run: a lesson failed")
            print(f"  FAILED, so these memory figures are not the lesson's: {'; '.join(par['failures'])}")
    return misses


def summarize(report: dict) -> dict:
    lessons_ = report.get("lessons", [])
    floor_s = (report.get("floor") or {}).get("floor_s")
    apply_ratios(lessons_, floor_s)
    times = [r["fresh_kernel_s"] for r in lessons_ if "fresh_kernel_s" in r]
    rated = [r for r in lessons_ if r.get("floor_ratio") is not None and not r.get("error")]
    slowest = max(rated, key=lambda r: r["floor_ratio"]) if rated else None
    explorers = [e for r in lessons_ for e in r.get("explorers", []) if e.get("median_ms") is not None]
    peaks = [r["peak_rss_mib"] for r in lessons_ if r.get("peak_rss_mib")]
    course = sum(times) if times else None
    return {
        "floor_s": floor_s,
        "slowest_lesson": slowest["lesson"] if slowest else None,
        "slowest_lesson_ratio": slowest["floor_ratio"] if slowest else None,
        "slowest_lesson_s": max(times) if times else None,
        "lessons_over": [r["lesson"] for r in lessons_ if r.get("verdict") == "over"],
        "lessons_failed": [r["lesson"] for r in lessons_ if r.get("error")],
        "course_s": course,  # reported, not a target
        "course_run_all_s": sum(r.get("run_all_s", 0.0) for r in lessons_) if lessons_ else None,
        "course_floors": course / floor_s if course and floor_s else None,
        "loader_ratio": report.get("loader", {}).get("ratio"),
        "widget_median_ms": max(e["median_ms"] for e in explorers) if explorers else None,
        "widget_p95_ms": max(e["p95_ms"] for e in explorers) if explorers else None,
        "kernel_peak_rss_mib": max(peaks) if peaks else None,
        "pss_per_kernel_mib": report.get("parallel", {}).get("pss_per_kernel_mib"),
        "targets": TARGETS,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", nargs="*", default=[], help="file-name prefixes, e.g. 00 03 (default: all)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per lesson and of the floor, in rounds; the table shows medians (default 1; "
                             "3 on a shared machine)")
    parser.add_argument("--updates", type=int, default=30, help="explorer updates per explorer (default 30)")
    parser.add_argument("--loader-repeats", type=int, default=7, help="fresh processes per loader (default 7)")
    parser.add_argument("--kernels", type=int, default=4, help="kernels for the memory run (default 4)")
    parser.add_argument("--parallel-lesson", help="lesson for the memory run (default: the largest peak RSS)")
    parser.add_argument("--skip-lessons", action="store_true")
    parser.add_argument("--skip-loader", action="store_true")
    parser.add_argument("--skip-parallel", action="store_true")
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/<date>.json)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a figure misses its target")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.worker, args.updates)
        return 0
    os.environ.update(OFFLINE)
    paths = lessons(args.lessons)
    if not paths:
        print(f"[bench] no lessons match {args.lessons}", file=sys.stderr)
        return 2
    report = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine()}
    report["machine"]["cpu_check_ms_start"] = cpu_check()
    if not args.skip_lessons:
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
        report["lessons"], report["floor"] = bench_lessons(paths, args.updates, args.repeats)
    if not args.skip_loader:
        report["loader"] = bench_loader(args.loader_repeats)
    if not args.skip_parallel and sys.platform.startswith("linux"):
        if args.parallel_lesson:
            heavy = next(p for p in paths if p.name.startswith(args.parallel_lesson))
        else:
            by_peak = {r["lesson"]: r.get("peak_rss_mib") or 0 for r in report.get("lessons", [])}
            heavy = max(paths, key=lambda p: by_peak.get(p.name, 0))
        report["parallel"] = bench_parallel(heavy, args.kernels)
    report["machine"]["cpu_check_ms_end"] = cpu_check()
    try:
        report["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    report["summary"] = summarize(report)
    misses = print_report(report)
    output = args.output or RESULTS / f"{dt.date.today().isoformat()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    try:
        shown = output.relative_to(ROOT)
    except ValueError:
        shown = output
    print(f"\n[bench] figures written to {shown}")
    return 1 if args.strict and misses else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
