"""tools/bench.py's --repeats: how several runs of one lesson become one row of the table."""

from tool_loader import load_tool

bench = load_tool("bench")


def run(seconds, peak, error=None):
    return {"lesson": "x.ipynb", "run_all_s": seconds, "fresh_kernel_s": seconds + 0.5, "kernel_start_s": 0.5,
            "peak_rss_mib": peak, "error": error, "explorers": [{"median_ms": seconds}]}


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
