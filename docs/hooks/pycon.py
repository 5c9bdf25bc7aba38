"""MkDocs hook: render bare doctest blocks (`>>>` paragraphs) as code.

kerasdrop's docstrings show their doctests under an `Example:` line without
indentation or fences, so griffe keeps them as text and Markdown would read
`>>>` as nested block quotes. This hook adds a Markdown preprocessor, used for
the pages and for the docstrings mkdocstrings renders, that wraps each
paragraph starting with `>>>` outside fenced code in a ```` ```pycon ```` fence
(doctest flags and `<BLANKLINE>` markers removed). Enable it in mkdocs.yml:

    hooks:
      - docs/hooks/pycon.py
"""

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor

_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^(\s*)>>>( |$)")
_FLAGS = re.compile(r"\s*#\s*doctest:.+$")


class _DoctestFences(Preprocessor):
    def run(self, lines):
        out, fence, i = [], None, 0
        while i < len(lines):
            line = lines[i]
            match = _FENCE.match(line)
            if fence is not None:
                if match and match.group(1) == fence:
                    fence = None
                out.append(line)
            elif match:
                fence = match.group(1)
                out.append(line)
            elif _PROMPT.match(line) and (not out or not out[-1].strip()):
                indent = _PROMPT.match(line).group(1)
                out.append(f"{indent}```pycon")
                while i < len(lines) and lines[i].strip():
                    text = _FLAGS.sub("", lines[i])
                    out.append(re.sub(r"<BLANKLINE>\s*$", "", text))
                    i += 1
                out.append(f"{indent}```")
                continue
            else:
                out.append(line)
            i += 1
        return out


class DoctestFences(Extension):
    def extendMarkdown(self, md):  # noqa: N802 (Markdown's name)
        # Before the fenced-code preprocessors (priority 25) read the fences.
        md.preprocessors.register(_DoctestFences(md), "doctest_fences", 28)


def on_config(config):
    # mkdocstrings renders docstrings with these same extensions.
    config.markdown_extensions.append(DoctestFences())
    return config
