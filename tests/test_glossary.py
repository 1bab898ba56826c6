"""The English / 中文 glossary: data/glossary.csv, its page docs/glossary.md, and its agreement with the lessons.

Rule for the ``lesson`` column: it names a notebook now in lessons/, or one of the course's planned lessons
(tools/glossary.py PLANNED_LESSONS) whose number has not landed yet. Once a notebook with that number exists, only
its real name is accepted. So the glossary can be written ahead of the lessons, but never points at a file that
will not exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tool_loader import load_tool

ROOT = Path(__file__).resolve().parent.parent


glossary = load_tool("glossary")
ROWS = glossary.read_rows()
COURSES = glossary.lesson_courses()
# Issue 8's list plus the course brief's: the glossary must define at least these.
REQUIRED = [
    "token", "WordPiece", "vocabulary", "special tokens", "input_ids", "token_type_ids", "attention mask", "padding",
    "truncation", "hidden state", "last_hidden_state", "pooler_output", "hidden_states", "layer", "head", "embedding",
    "contextual embedding", "pre-training", "masked language model", "fine-tuning",
    "checkpoint", "forward pass", "subword", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "offset mapping", "segment",
    "position embedding", "pooling", "mean pooling", "cosine similarity", "attention", "attention head",
    "attention weights", "self-attention", "encoder", "decoder", "Transformer", "BERT-Base", "BERT-Large", "parameter",
    "probe", "linear probe", "anisotropy", "next sentence prediction", "layer normalization", "softmax", "logits",
    "sliding window", "stride", "loss", "cross-entropy", "perplexity",
]


def row(term="token", chinese="词元", definition="One unit the model reads.", lesson="01_tokenization"):
    return {"term": term, "chinese": chinese, "definition": definition, "lesson": lesson}


def test_csv_rows_are_complete_unique_and_well_formed():
    problems = glossary.check_rows(ROWS, glossary.lesson_stems())
    assert not problems, "\n".join(problems)


def test_required_terms_are_defined():
    terms = {r["term"] for r in ROWS}
    assert not [t for t in REQUIRED if t not in terms], "add these rows to data/glossary.csv"


def test_chinese_for_attention_mask_is_the_issues():
    chinese = next(r for r in ROWS if r["term"] == "attention mask")["chinese"]
    assert glossary.chinese_options(chinese)[0] == "注意力掩码"


@pytest.mark.parametrize("stem", sorted(COURSES))
def test_lesson_glossary_terms_are_in_the_csv_with_matching_chinese(stem):
    markdown = {stem: glossary.lesson_markdown(stem)}
    problems = glossary.check_lessons(ROWS, {stem: COURSES[stem]}, markdown)
    assert not problems, "\n".join(problems)


def test_glossary_page_is_current():
    page = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    assert page == glossary.render(ROWS), "docs/glossary.md is stale: run `.venv/bin/python tools/glossary.py`"


class TestRules:
    """The checks themselves, fed the mistakes they exist to catch."""

    def test_lesson_rule_accepts_existing_and_planned_not_landed(self):
        assert glossary.lesson_rule("00_setup_check", ["00_setup_check"]) is None
        assert glossary.lesson_rule("03_attention_masks", ["00_setup_check"]) is None

    def test_lesson_rule_rejects_a_planned_name_once_that_number_landed_under_another_name(self):
        reason = glossary.lesson_rule("03_attention_masks", ["00_setup_check", "03_masks"])
        assert "03_masks" in reason

    def test_lesson_rule_rejects_unknown_names(self):
        assert "neither" in glossary.lesson_rule("09_nothing", ["00_setup_check"])

    @pytest.mark.parametrize("bad, message", [
        (row(chinese=""), "empty chinese"),
        (row(definition="two\nlines"), "line break"),
        (row(term=" token"), "surrounding spaces"),
        (row(term="Token"), "lower case"),
        (row(chinese="token"), "no Chinese"),
        (row(definition="x" * 300), "longer than"),
        (row(lesson="99_nope"), "neither"),
        (row(term="a|b"), "'|'"),
    ])
    def test_check_rows_catches(self, bad, message):
        problems = glossary.check_rows([bad], ["00_setup_check", "01_tokenization"])
        assert any(message in p for p in problems), problems

    def test_check_rows_catches_case_insensitive_duplicates(self):
        problems = glossary.check_rows([row(), row(term="TOKEN")], ["01_tokenization"])
        assert any("duplicate" in p for p in problems), problems

    def test_proper_names_acronyms_and_tokens_are_allowed(self):
        rows = [row(term=t) for t in ("BERT", "WordPiece", "[CLS] pooling", "MLM head", "BERT-Base")]
        assert glossary.check_rows(rows, ["01_tokenization"]) == []

    def test_check_lessons_catches_missing_term_late_introduction_and_chinese_mismatch(self):
        rows = [row(), row(term="padding", chinese="填充", lesson="03_attention_masks")]
        courses = {"02_special_tokens": {"glossary": ["token", "padding", "nonsense"]}}
        markdown = {"02_special_tokens": "**Glossary:** token (令牌), padding (填充)."}
        problems = "\n".join(glossary.check_lessons(rows, courses, markdown))
        assert "'nonsense' is not in data/glossary.csv" in problems
        assert "set its lesson to 02_special_tokens" in problems
        assert "given as ['令牌']" in problems

    def test_check_lessons_accepts_any_listed_rendering_in_prose_or_table(self):
        rows = [row(chinese="词元 / 标记"), row(term="input_ids", chinese="输入 ID")]
        courses = {"01_tokenization": {"glossary": ["token", "input_ids"]}}
        markdown = {"01_tokenization": "| term | 中文 |\n|---|---|\n| `input_ids` | 输入 ID |\n\nA token (标记)."}
        assert glossary.check_lessons(rows, courses, markdown) == []

    def test_terms_match_ignoring_case_and_separators(self):
        assert glossary.term_key("input ids") == glossary.term_key("input_ids")
        assert glossary.term_key("Pretraining") == glossary.term_key("pre-training")
        rows = [row(term="input_ids", chinese="输入 ID")]
        courses = {"01_tokenization": {"glossary": ["input ids"]}}
        assert glossary.check_lessons(rows, courses, {"01_tokenization": "input ids (输入 ID)"}) == []
        assert glossary.check_lessons(rows, courses, {"01_tokenization": "`input_ids` (输入 ID)"}) == []

    def test_singular_finds_plural_entry_but_exact_entries_win(self):
        rows = [row(term="special tokens", chinese="特殊标记"), row(term="attention", chinese="注意力"),
                row(term="attentions", chinese="各层注意力权重")]
        courses = {"02_special_tokens": {"glossary": ["special token", "attentions"]}}
        markdown = {"02_special_tokens": "special token (特殊标记), attentions (各层注意力权重)"}
        assert glossary.check_lessons(rows, courses, markdown) == []

    def test_rendering_wrapped_over_two_lines_with_alternatives_is_read(self):
        rows = [row(term="token_type_ids", chinese="片段 ID / 句子类型 ID")]
        courses = {"02_special_tokens": {"glossary": ["token type ids"]}}
        markdown = {"02_special_tokens": "**Glossary:** token type ids (句子类型 ID /\n片段编码), segment (片段)."}
        assert glossary.check_lessons(rows, courses, markdown) == []

    def test_check_lessons_wants_the_chinese_written_in_the_lesson(self):
        problems = glossary.check_lessons([row()], {"01_tokenization": {"glossary": ["token"]}},
                                          {"01_tokenization": "A token is a unit."})
        assert problems and "token (词元)" in problems[0]

    def test_bad_header_is_rejected(self, tmp_path):
        bad = tmp_path / "g.csv"
        bad.write_text("term,chinese,definition\nx,词,y\n", encoding="utf-8")
        with pytest.raises(ValueError, match="header must be"):
            glossary.read_rows(bad)

    def test_page_links_each_term_to_its_lesson_and_renders_code_terms_as_code(self):
        page = glossary.render([row(), row(term="[CLS]", chinese="分类标记", lesson="02_special_tokens")])
        link = "[01_tokenization](../lessons/01_tokenization.ipynb)"
        assert f"| token | 词元 | One unit the model reads. | {link} |" in page
        assert "| `[CLS]` |" in page
