"""The README's Python snippets run, in order, in one namespace."""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # convert() warnings
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
