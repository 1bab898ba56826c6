"""The checker mechanism, and lesson 00's checker: accepts the right answer, names the common wrong ones."""

import pytest

from utils import CourseValueError, check, evaluate
from utils.exercises import Wrong, exercise, exercise_ids, expect_type


def test_unanswered_is_friendly(capsys):
    check("00.num_hidden_states", ...)
    out = capsys.readouterr().out
    assert "Not answered yet" in out and "Traceback" not in out


def test_unknown_exercise_id_names_known_ones():
    with pytest.raises(CourseValueError, match="00.num_hidden_states"):
        evaluate("99.nope", 1)


def test_duplicate_registration_is_refused():
    exercise("zz.test_only")(lambda a: "ok")
    with pytest.raises(CourseValueError, match="registered twice"):
        exercise("zz.test_only")(lambda a: "other")


def test_expect_type():
    assert expect_type(3, int, "3") == 3
    with pytest.raises(Wrong, match="wants a int"):
        expect_type(True, int, "3")
    with pytest.raises(Wrong, match="is a str"):
        expect_type("7", int, "7")


def test_every_checker_is_registered_once():
    ids = exercise_ids()
    assert len(ids) == len(set(ids)) and "00.num_hidden_states" in ids


def test_feedback_str_marks():
    assert str(evaluate("00.num_hidden_states", 7)).startswith("[00.num_hidden_states] ✅")
    assert "❌" in str(evaluate("00.num_hidden_states", 6))


@pytest.mark.parametrize("answer, words", [
    (6, "embedding output"),     # forgot the embedding output
    (12, "BERT-Base"),           # remembered BERT-Base
    (13, "BERT-Base"),
    (25, "BERT-Large"),
    (3, "layers + 1"),
    ("7", "is a str"),
])
def test_lesson00_rejects_common_mistakes(bert, answer, words):
    verdict = evaluate("00.num_hidden_states", answer)
    assert verdict.status == "wrong" and words in verdict.message


def test_lesson00_accepts_solution(bert):
    assert evaluate("00.num_hidden_states", 7).correct
