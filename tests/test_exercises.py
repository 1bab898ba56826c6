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


def test_expect_tensor_accepts_tensor_array_max_result_and_numbers_when_asked():
    import numpy as np
    import torch

    from utils.exercises import Wrong, expect_tensor, same_tensor

    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=torch.float64, requires_grad=True)
    assert expect_tensor(x, "x").dtype == torch.float32 and not expect_tensor(x, "x").requires_grad
    assert same_tensor(expect_tensor(np.array([1, 2]), "x"), torch.tensor([1.0, 2.0]))
    assert same_tensor(expect_tensor(x.max(dim=1), "x"), torch.tensor([1.0, 3.0]))  # (values, indices) → values
    assert same_tensor(expect_tensor([1, 2.5], "x", numbers=True), torch.tensor([1.0, 2.5]))
    for bad, numbers in (([1, 2], False), ([True, False], True), ("1, 2", True), (None, False)):
        with pytest.raises(Wrong, match="wants a torch.Tensor"):
            expect_tensor(bad, "torch.zeros(3)", numbers=numbers)


def test_same_tensor_needs_the_same_shape_and_values_within_noise():
    import torch

    from utils.exercises import same_tensor

    a = torch.ones(2, 3)
    assert same_tensor(a, a + 1e-7)
    assert not same_tensor(a, a + 1e-2)
    assert not same_tensor(a, torch.ones(3, 2)) and not same_tensor(a, torch.ones(1, 2, 3))
    assert same_tensor(a, a + 1e-3, atol=1e-2)
