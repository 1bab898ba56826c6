import pytest

from utils import CourseTypeError, CourseValueError
from utils.inputs import check_text, check_texts


def test_check_text_accepts_text():
    assert check_text("hello") == "hello"


@pytest.mark.parametrize("bad, error, words", [
    (None, CourseTypeError, "None"),
    (42, CourseTypeError, "convert it first"),
    (b"bytes", CourseTypeError, "must be a str"),
    ("", CourseValueError, "empty"),
    ("   \n", CourseValueError, "empty"),
])
def test_check_text_rejects(bad, error, words):
    with pytest.raises(error, match=words):
        check_text(bad)


def test_check_texts_wraps_one_string():
    assert check_texts("a b") == ["a b"]


def test_check_texts_names_the_bad_item():
    with pytest.raises(CourseTypeError, match=r"texts\[1\]"):
        check_texts(["fine", 3])
    with pytest.raises(CourseValueError, match=r"texts\[2\] is empty"):
        check_texts(["a", "b", ""])


@pytest.mark.parametrize("bad", [None, 7, {"a": 1}])
def test_check_texts_rejects_non_sequences(bad):
    with pytest.raises(CourseTypeError):
        check_texts(bad)


def test_check_texts_rejects_empty_batch():
    with pytest.raises(CourseValueError, match="empty batch"):
        check_texts([])


def test_errors_are_builtin_subclasses():
    assert issubclass(CourseTypeError, TypeError) and issubclass(CourseValueError, ValueError)
