"""Explorers for lessons 01–02: type text and see its tokens; type a pair and see its segments.

UI only: the tokenization itself is the real tokenizer's, the tables come from ``utils.special_tokens``.
"""

from __future__ import annotations

import html

from ..errors import CourseTypeError
from ..inputs import check_text
from . import explorer

# Light tints of seaborn's colour-blind palette: one per word, cycling, so the pieces of one word share a colour.
WORD_COLOURS = ("#cfe3f5", "#fbe0c2", "#c8eadf", "#f6d3e6", "#eee7b3", "#dcd3ee")
UNK_STYLE = "background:#d55e00;color:white;font-weight:bold"
SPECIAL_STYLE = "background:#d9d9d9;color:#111;font-weight:bold"
DEFAULT_TEXT = "Amélie's café serves crème brûlée 🍮 and 学习 tea, unbelievably!"
DEFAULT_PAIR = ("Where can I buy a croissant?", "The bakery next to the station opens at 7 a.m.")


def token_html(text: str, tokenizer, *, special_tokens: bool = True, limit: int | None = None) -> str:
    """HTML for one text: a coloured box per token (token above, id below), then the count against the limit.

    Boxes share a colour per word; ``##`` continuation pieces have a dashed left border and a dimmed ``##``;
    ``[UNK]`` is orange with white bold text; special tokens grey and bold.
    """
    check_text(text)
    limit = int(limit or tokenizer.model_max_length)
    encoding = tokenizer(text, add_special_tokens=special_tokens)
    specials = set(tokenizer.all_special_tokens)
    boxes, n_pieces, n_unk = [], 0, 0
    for token, input_id, word_id in zip(encoding.tokens(), encoding["input_ids"], encoding.word_ids()):
        label = html.escape(token)
        if token == tokenizer.unk_token:
            style, n_unk = UNK_STYLE, n_unk + 1
        elif token in specials:
            style = SPECIAL_STYLE
        else:
            style = f"background:{WORD_COLOURS[(word_id or 0) % len(WORD_COLOURS)]};color:#111"
        if token.startswith("##") and len(token) > 2:
            style += ";border-left:2px dashed #555"
            label = f"<span style='opacity:0.5'>##</span>{html.escape(token[2:])}"
            n_pieces += 1
        boxes.append(f"<span style='display:inline-block;margin:2px;padding:2px 5px;border-radius:4px;"
                     f"text-align:center;font-family:monospace;{style}'>{label}<br>"
                     f"<small>{input_id}</small></span>")
    n = len(encoding["input_ids"])
    status = (f"<b style='color:#d55e00'>{n} &gt; {limit}: too long. truncation=True would keep the first "
              f"{limit} positions</b>" if n > limit else f"fits: {limit - n} positions left")
    specials_note = "[CLS] and [SEP] included" if special_tokens else "without [CLS] and [SEP]"
    summary = (f"<p><b>{n} tokens</b> ({specials_note}) of {limit} positions · {status} · "
               f"{len(text.split())} words split on spaces · {n_pieces} ## pieces · {n_unk} [UNK]</p>")
    return summary + "<div style='line-height:2.2'>" + "".join(boxes) + "</div>"


def tokenizer_explorer(tokenizer, text: str = DEFAULT_TEXT):
    """Type text, see its tokens coloured by word with ids, ``##`` pieces and ``[UNK]`` marked, count vs 512."""
    import ipywidgets as widgets
    from IPython.display import HTML, display

    if not hasattr(tokenizer, "model_max_length"):
        raise CourseTypeError("tokenizer_explorer needs the tokenizer from `tokenizer, model = load_model()`")
    check_text(text)
    controls = {
        "text": widgets.Textarea(value=text, description="text", continuous_update=False,
                                 layout=widgets.Layout(width="70%", height="70px")),
        "special_tokens": widgets.Checkbox(value=True, description="add [CLS] / [SEP]"),
    }

    def render(text, special_tokens):
        display(HTML(token_html(text, tokenizer, special_tokens=special_tokens)))

    return explorer("Tokenizer explorer: type, then click outside the box (or Ctrl+Enter)", controls, render)


def pair_explorer(tokenizer, text: str = DEFAULT_PAIR[0], text_pair: str = DEFAULT_PAIR[1]):
    """Type two texts, pick ``max_length`` and a truncation strategy, see the colour-coded pair table."""
    import ipywidgets as widgets
    from IPython.display import display

    from ..special_tokens import pair_table, style_pair_table

    if not hasattr(tokenizer, "model_max_length"):
        raise CourseTypeError("pair_explorer needs the tokenizer from `tokenizer, model = load_model()`")
    check_text(text)
    check_text(text_pair, name="text_pair")
    wide = widgets.Layout(width="45%")
    controls = {
        "text": widgets.Text(value=text, description="A", continuous_update=False, layout=wide),
        "text_pair": widgets.Text(value=text_pair, description="B", continuous_update=False, layout=wide),
        "max_length": widgets.IntSlider(value=32, min=4, max=64, description="max_length"),
        "strategy": widgets.Dropdown(options=["longest_first", "only_first", "only_second"],
                                     value="longest_first", description="truncation"),
    }

    def render(text, text_pair, max_length, strategy):
        table = pair_table(text, tokenizer, text_pair, truncation=strategy, max_length=max_length)
        kept = table[~table["special"]]["segment"].value_counts()
        print(f"{len(table)} positions: {kept.get('A', 0)} tokens of A, {kept.get('B', 0)} of B, "
              f"{int(table['special'].sum())} special")
        display(style_pair_table(table))

    box = explorer("Pair explorer: [CLS] A [SEP] B [SEP]", controls, render)
    box.children[1].layout.flex_flow = "row wrap"  # four controls do not fit on one line
    return box
