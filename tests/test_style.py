"""House rules that a reader can check by eye, checked by the suite."""

import ast
import pathlib

import kerasdrop

PACKAGE = pathlib.Path(kerasdrop.__file__).parent
#: Functions stay short: def line to last line, docstring included.
MAX_FUNCTION_LINES = 60


def functions(root=PACKAGE):
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                yield (
                    length,
                    f"{path.relative_to(root.parent)}:{node.lineno} {node.name}",
                )


def test_no_function_is_longer_than_60_lines():
    rows = sorted(functions(), reverse=True)
    long = [f"{where} ({n} lines)" for n, where in rows if n > MAX_FUNCTION_LINES]
    assert not long, long
    assert rows[0][0] > 30  # the scan saw the package's functions


if __name__ == "__main__":  # the longest five: python3 tests/test_style.py
    for n, where in sorted(functions(), reverse=True)[:5]:
        print(n, where)
