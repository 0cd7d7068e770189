"""Markdown to safe HTML, with math as MathML rendered here: what the grade-by-question view and the
students' feedback pages show of notebooks' Markdown. Nothing is fetched to show a formula (MathML is
drawn by the browser itself, offline), and nothing of the text can run in the reader's browser: raw
HTML shows as text, and the result is sanitised."""
import functools

import nh3
from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.texmath import texmath_plugin

MATHML = {"math", "mrow", "mi", "mn", "mo", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mtext",
          "mspace", "mstyle", "mtable", "mtr", "mtd", "munder", "mover", "munderover", "mpadded", "mphantom",
          "menclose", "semantics", "annotation"}
ALLOWED_TAGS = nh3.ALLOWED_TAGS | MATHML | {"span"}
ALLOWED_ATTRIBUTES = {**{tag: {"display", "mathvariant", "stretchy", "width", "fence", "separator", "lspace",
                               "rspace", "columnalign", "accent", "movablelimits", "xmlns"} for tag in MATHML},
                      "span": {"class"}}


def _math(self, tokens, index, options, env):
    """A formula's token as MathML: displayed for `$$...$$` and `\\[...\\]`, inline otherwise."""
    token = tokens[index]
    display = "block" if token.type.startswith("math_block") or token.type == "math_inline_double" else "inline"
    try:
        return convert(token.content.strip(), display=display)
    except Exception:  # a student's broken LaTeX: shown as typed
        return f"<code>{nh3.clean_text(token.content)}</code>"


# Raw HTML in the text is shown as text; `$...$`, `$$...$$`, `\(...\)` and `\[...\]` (as MathJax reads
# them in Jupyter, and as the assignment's own answers write them) become MathML
_MARKDOWN = (MarkdownIt("commonmark", {"html": False}).use(dollarmath_plugin).use(texmath_plugin, delimiters="brackets")
             .enable("table"))
for _rule in ("math_inline", "math_inline_double", "math_block", "math_block_label", "math_block_eqno"):
    _MARKDOWN.add_render_rule(_rule, _math)


@functools.lru_cache(maxsize=8192)
def render(markdown):
    """Safe HTML for a student's (or the instructor's) Markdown."""
    return nh3.clean(_MARKDOWN.render(markdown or ""), tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     link_rel="noopener noreferrer")
