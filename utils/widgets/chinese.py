"""Lesson 09's explorer: type Chinese or mixed text, see the English and the Chinese vocabulary's tokens.

UI only: the tokens are the real tokenizers', drawn with lesson 01's :func:`utils.widgets.tokenization.token_html`
(``[UNK]`` in orange); the jieba words come from :func:`utils.chinese.segment_words`.
"""

from __future__ import annotations

import html

from ..errors import CourseTypeError
from ..inputs import check_text
from . import explorer
from .tokenization import token_html

DEFAULT_TEXT = "我在2024年学会了Python！今天天气真好😊 這個問題很難。"


def chinese_explorer(english_tokenizer, chinese_tokenizer, text: str = DEFAULT_TEXT):
    """Type text; see both tokenizations one above the other (``[UNK]`` highlighted) and, optionally, jieba's words."""
    import ipywidgets as widgets
    from IPython.display import HTML, display

    from ..chinese import segment_words

    for tokenizer in (english_tokenizer, chinese_tokenizer):
        if not hasattr(tokenizer, "model_max_length"):
            raise CourseTypeError("chinese_explorer needs two tokenizers: load_model().tokenizer and "
                                  "load_chinese_tokenizer()")
    check_text(text)
    controls = {
        "text": widgets.Textarea(value=text, description="text", continuous_update=False,
                                 layout=widgets.Layout(width="70%", height="60px")),
        "words": widgets.Checkbox(value=True, description="jieba words 分词结果"),
    }

    def render(text, words):
        parts = [f"<h4>English vocabulary 英文词表 ({len(english_tokenizer):,})</h4>",
                 token_html(text, english_tokenizer),
                 f"<h4>bert-base-chinese vocabulary 中文词表 ({len(chinese_tokenizer):,})</h4>",
                 token_html(text, chinese_tokenizer)]
        if words:
            parts.append("<h4>jieba words 词语</h4><p>" + " | ".join(html.escape(w) for w in segment_words(text)
                                                                      if w.strip()) + "</p>")
        display(HTML("".join(parts)))

    return explorer("Chinese text explorer 中文分词对比: type, then click outside the box", controls, render)
