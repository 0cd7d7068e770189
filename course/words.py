"""An answer's words, as the grading view and the copying report compare them: no Markdown, HTML tags,
punctuation or case; and which answers are blank."""
import re

PLACEHOLDER = "YOUR ANSWER HERE"  # nbgrader's text in a written answer's cell of the release

_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]*>")
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text):
    """`text` as words only: no Markdown (links keep their text), HTML tags, punctuation or case."""
    text = _TAG.sub(" ", _MARKDOWN_LINK.sub(r"\1", text))
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


# an answer whose words are one of these is blank: empty, whitespace, or the release's placeholder left as it was
BLANK = {"", normalise(PLACEHOLDER)}
