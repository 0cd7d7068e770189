"""Markdown to safe HTML, with math as MathML rendered here: what every page the kit serves or writes
shows of notebooks' Markdown and HTML (the grade-by-question view, the Formgrader's submission page,
the students' feedback pages). Nothing is fetched to show a formula (MathML is drawn by the browser
itself, offline), and nothing of the text can run in the reader's browser: raw HTML in Markdown shows as
text, and every result passes one allow-list (`clean_html`), which also serves a notebook's HTML outputs."""
import functools
import re

import nh3
from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.texmath import texmath_plugin

MATHML = {"math", "mrow", "mi", "mn", "mo", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mtext",
          "mspace", "mstyle", "mtable", "mtr", "mtd", "munder", "mover", "munderover", "mpadded", "mphantom",
          "menclose", "semantics", "annotation"}
# Formatting, tables, lists, code, images and links, and MathML; no script, style, frame, form, base,
# meta or object, and no event handler, style, id or class attribute (a student's `class="nbgrader_cell"`
# would dress text up as a score box)
ALLOWED_TAGS = nh3.ALLOWED_TAGS | MATHML
ALLOWED_ATTRIBUTES = {**{tag: {"display", "mathvariant", "stretchy", "width", "fence", "separator", "lspace",
                               "rspace", "columnalign", "accent", "movablelimits", "xmlns"} for tag in MATHML},
                      "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                      "td": {"align", "colspan", "rowspan"}, "th": {"align", "colspan", "rowspan", "scope"},
                      "ol": {"start"}}
# An image only from the page itself (a data: URL): one from elsewhere would tell its server who opened
# the page, and when; a link only to the web or a mail address, never to a script or into the server
_IMAGE_SOURCE = re.compile(r"data:image/(?:png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*\Z")  # (the kinds notebook_pages shows)
_LINK = re.compile(r"(?:https?://|mailto:)[^\s]*\Z|#[\w-]*\Z", re.IGNORECASE)


def _urls(tag, attribute, value):
    if attribute == "src":
        return value if _IMAGE_SOURCE.match(value) else None
    if attribute == "href":
        return value if _LINK.match(value) else None
    return value


def clean_html(html):
    """`html` reduced to the allow-list: what may show on a grader's or a student's page. (An SVG goes with
    its content: inside MathML's text elements the sanitiser would keep SVG-namespace children; a lone
    surrogate, which the sanitiser cannot encode, becomes "?".)"""
    return nh3.clean(html.encode("utf-8", "replace").decode("utf-8"), tags=ALLOWED_TAGS,
                     attributes=ALLOWED_ATTRIBUTES, attribute_filter=_urls, clean_content_tags={"script", "style", "svg"},
                     url_schemes={"http", "https", "mailto", "data"}, link_rel="noopener noreferrer")


def _math(self, tokens, index, options, env):
    """A formula's token as MathML: displayed for `$$...$$` and `\\[...\\]`, inline otherwise."""
    token = tokens[index]
    display = "block" if token.type.startswith("math_block") or token.type == "math_inline_double" else "inline"
    # latex2mathml copies \text{...} into the MathML as it is: markup there would be markup (a link, or an
    # unclosed <style> that swallows the rest of the answer); as \lt and \gt it is text, and math's < and >
    # stay relations
    latex = token.content.strip().replace("<", "\\lt ").replace(">", "\\gt ")
    try:
        return convert(latex, display=display)
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
    return clean_html(_MARKDOWN.render(markdown or ""))
