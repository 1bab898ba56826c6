"""tools/bench.py: how runs become rows (--repeats), the floor, and each lesson's ratio to it against the target."""

import json
from pathlib import Path

import pytest
from tool_loader import load_tool

bench = load_tool("bench")


def run(seconds, peak, error=None):
    return {"lesson": "x.ipynb", "run_all_s": seconds, "fresh_kernel_s": seconds + 0.5, "kernel_start_s": 0.5,
            "peak_rss_mib": peak, "error": error, "explorers": [{"median_ms": seconds}]}


def floor_run(seconds, error=None):
    return {"lesson": bench.FLOOR_NAME, "run_all_s": seconds - 0.5, "fresh_kernel_s": seconds, "kernel_start_s": 0.5,
            "error": error, "after_run": {"rss": 480.0}}


def report(floor_s, lesson_seconds, errors=()):
    rows = [{"lesson": f"{i:02d}_x.ipynb", "run_all_s": t - 0.5, "fresh_kernel_s": t, "peak_rss_mib": 600.0,
             "error": "cell 2: boom" if i in errors else None, "explorers": []}
            for i, t in enumerate(lesson_seconds)]
    rep = {"machine": {"python": "3.11"}, "lessons": rows, "floor": {"floor_s": floor_s, "runs_s": [floor_s]}}
    rep["summary"] = bench.summarize(rep)
    return rep


# --- --repeats: several runs of one lesson as one row ---------------------------------------------------------------
def test_one_run_is_reported_as_it_is():
    only = run(9.0, 600)
    assert bench.combine_runs([only]) is only


def test_repeats_give_medians_the_largest_peak_and_any_error():
    row = bench.combine_runs([run(10.0, 600), run(14.0, 650), run(11.0, 640, error="cell 3: boom")])
    assert (row["run_all_s"], row["fresh_kernel_s"]) == (11.0, 11.5)
    assert row["runs_run_all_s"] == [10.0, 14.0, 11.0]
    assert row["peak_rss_mib"] == 650  # the memory target is about the worst run
    assert row["error"] == "cell 3: boom"  # failing once is failing
    assert row["explorers"] == [{"median_ms": 11.0}]  # from the median run


def test_even_number_of_runs_takes_the_middle_two_for_times():
    row = bench.combine_runs([run(10.0, 600), run(12.0, 600)])
    assert row["run_all_s"] == 11.0 and row["error"] is None


# --- the ratio to the floor and its verdict -------------------------------------------------------------------------
def test_targets_are_a_ratio_not_seconds():
    assert bench.TARGETS["lesson_ratio"] == 2.5
    assert "lesson_s" not in bench.TARGETS and "course_s" not in bench.TARGETS  # the course total is only reported
    assert (bench.TARGETS["widget_median_ms"], bench.TARGETS["kernel_peak_rss_mib"]) == (100.0, 700.0)


@pytest.mark.parametrize(("seconds", "expected"), [
    (6.0 * 2.6, (2.6, "over")),
    (6.0 * 2.4, (2.4, "met")),
    (15.0, (2.5, "met")),  # exactly at the target is met
    (15.03, (2.5, "met")),  # 2.505 is printed as 2.50×, and judged as printed
    (15.1, (2.52, "over")),
])
def test_lesson_time_is_judged_as_a_multiple_of_the_floor(seconds, expected):
    assert bench.ratio_verdict(seconds, 6.0) == expected


def test_same_seconds_are_over_on_a_fast_floor_and_met_on_a_slow_one():
    assert bench.ratio_verdict(14.0, 5.0)[1] == "over"  # 2.8×
    assert bench.ratio_verdict(14.0, 7.0)[1] == "met"  # 2.0×: the same lesson in a slow minute of the machine


def test_a_lesson_that_stopped_on_an_error_is_never_met():
    assert bench.ratio_verdict(3.0, 6.0, error="cell 4: NameError: x") == (0.5, "error")


def test_without_a_floor_there_is_no_verdict():
    assert bench.ratio_verdict(10.0, None) == (None, "no floor")


def test_floor_is_the_median_of_the_runs_that_did_not_fail():
    row = bench.combine_floor([floor_run(6.0), floor_run(9.0), floor_run(2.0, error="cell 1: OSError"),
                               floor_run(7.0)], warmup=floor_run(11.0))
    assert row["floor_s"] == 7.0 and row["runs_s"] == [6.0, 9.0, 2.0, 7.0]
    assert row["errors"] == ["cell 1: OSError"] and row["warmup_s"] == 11.0


def test_floor_that_always_failed_gives_no_ratios():
    row = bench.combine_floor([floor_run(2.0, error="cell 1: OSError")])
    assert row["floor_s"] is None
    rep = report(None, [10.0])
    assert rep["lessons"][0]["verdict"] == "no floor"
    assert bench.print_report(rep), "--strict must not pass a run whose ratios could not be computed"


def test_summary_names_the_slowest_lesson_and_reports_the_course_without_a_target(capsys):
    rep = report(6.0, [9.0, 14.4, 15.6, 12.0])  # 1.5×, 2.4×, 2.6×, 2.0×
    s = rep["summary"]
    assert [r["floor_ratio"] for r in rep["lessons"]] == [1.5, 2.4, 2.6, 2.0]
    assert [r["verdict"] for r in rep["lessons"]] == ["met", "met", "over", "met"]
    assert (s["slowest_lesson"], s["slowest_lesson_ratio"], s["lessons_over"]) == ("02_x.ipynb", 2.6, ["02_x.ipynb"])
    assert s["course_s"] == 51.0 and s["course_floors"] == 8.5
    misses = bench.print_report(rep)
    assert misses == ["02_x.ipynb over 2.5× floor"]  # the course total is not a target
    out = capsys.readouterr().out
    assert "2.60×" in out and "over" in out and "(reported, no target)" in out


def test_all_lessons_at_2_4_floors_meet_the_target():
    rep = report(5.0, [12.0, 12.0])
    assert bench.print_report(rep) == []


def test_an_errored_lesson_is_a_miss_even_when_fast():
    rep = report(6.0, [3.0, 9.0], errors={0})
    assert rep["summary"]["slowest_lesson"] == "01_x.ipynb"  # the error's short time is not a figure
    assert bench.print_report(rep) == ["00_x.ipynb stopped on an error"]


# --- rounds: the floor measured once per round, in the same run as the lessons --------------------------------------
def test_floor_runs_once_per_round_interleaved_with_the_lessons(monkeypatch):
    order = []
    floor_times = iter([99.0, 6.0, 8.0, 7.0])  # the warm-up first, then one per round

    def fake_floor(cell_timeout=300):
        order.append("floor")
        return floor_run(next(floor_times))

    async def fake_lesson(path, n_updates=30, **kw):
        order.append(path.name[:2])
        return run(10.0, 600) | {"lesson": path.name, "explorers": []}

    monkeypatch.setattr(bench, "run_floor", fake_floor)
    monkeypatch.setattr(bench, "run_lesson", fake_lesson)
    paths = [Path(f"{i:02d}_x.ipynb") for i in range(4)]
    rows, floor = bench.bench_lessons(paths, 30, repeats=3)
    one_round = ["00", "01", "floor", "02", "03"]
    assert order == ["floor"] + one_round * 3
    assert floor["floor_s"] == 7.0 and floor["warmup_s"] == 99.0  # the warm-up is not counted
    assert [r["lesson"] for r in rows] == [p.name for p in paths]


def test_new_lessons_are_found_without_changing_the_benchmark(tmp_path, monkeypatch):
    (tmp_path / "lessons").mkdir()
    for name in ("00_setup_check.ipynb", "06_pretraining_mlm.ipynb", "07_fine_tuning.ipynb", "notes.md"):
        (tmp_path / "lessons" / name).write_text("{}")
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    assert [p.name for p in bench.lessons([])] == ["00_setup_check.ipynb", "06_pretraining_mlm.ipynb",
                                                   "07_fine_tuning.ipynb"]
    assert [p.name for p in bench.lessons(["07"])] == ["07_fine_tuning.ipynb"]


# --- the 4-kernel memory run: a lesson that stopped in a kernel is reported, not measured as if it ran ---------------
def test_memory_run_reports_a_lesson_that_failed_in_a_kernel(monkeypatch, capsys):
    class FakeWorker:
        count = 0

        def __init__(self, *args, **kwargs):
            FakeWorker.count += 1
            error = "cell 2: ModuleNotFoundError: No module named 'utils.depth'" if FakeWorker.count == 2 else None
            self.stdout = iter([f'{{"pid": {1000 + FakeWorker.count}}}\n', '{"done": true}\n',
                                f'{{"result": {{"lesson": "05_x.ipynb", "error": {json.dumps(error)}}}}}\n'])
            self.stdin = self

        def close(self):
            pass

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(bench.subprocess, "Popen", FakeWorker)
    monkeypatch.setattr(bench, "smaps_rollup", lambda pid: {"pss": 360.0, "rss": 460.0})
    par = bench.bench_parallel(Path("05_x.ipynb"), 4)
    assert par["failures"] == ["kernel 2: cell 2: ModuleNotFoundError: No module named 'utils.depth'"]
    rep = report(6.0, [9.0])
    rep["parallel"] = par
    assert "4-kernel memory run: a lesson failed" in bench.print_report(rep)
    assert "FAILED" in capsys.readouterr().out
