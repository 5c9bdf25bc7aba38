"""mkdocs hook: the docstrings' doctest examples render as Python code.

kerasdrop's docstrings write examples as Keras does, bare `>>>` lines under
`Example:`. Markdown reads those as nested block quotes, and an output line
such as `['Identity', 'Dense']` under a line ending in `]` as a reference
link. This hook adds a Markdown preprocessor (to the pages and to the
Markdown instance mkdocstrings renders docstrings with) that wraps each run
of doctest lines, from a `>>>` line to the next blank line, in a `pycon`
fence. Lines inside existing fences are left alone.
"""

import re

from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


class DoctestFences(Preprocessor):
    """Wraps doctest runs in ```pycon fences."""

    def run(self, lines):
        out, fence, indent = [], None, None
        for line in lines:
            stripped = line.lstrip()
            if indent is not None:  # inside a doctest run
                if stripped:
                    out.append(line)
                    continue
                out.append(f"{indent}```")
                indent = None
            elif fence is not None:  # inside an existing fence
                if stripped.startswith(fence):
                    fence = None
            elif FENCE.match(line):
                fence = FENCE.match(line).group(1)
            elif stripped.startswith(">>>"):
                indent = line[: len(line) - len(stripped)]
                out.append(f"{indent}```pycon")
            out.append(line)
        if indent is not None:
            out.append(f"{indent}```")
        return out


class DoctestExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 (Markdown's name)
        # Before the fenced-code preprocessors (pymdownx.superfences: 25).
        md.preprocessors.register(DoctestFences(md), "kerasdrop_doctests", 29)


def on_config(config):
    config.markdown_extensions.append(DoctestExtension())
    return config
