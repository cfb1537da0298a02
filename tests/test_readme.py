"""The README's example runs and prints what its comments say."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_prints_its_comments():
    text = README.read_text()
    code = re.search(r"## Example\s+```python\n(.*?)```", text, re.S).group(1)
    # the value each print claims, from its trailing comment: "# test RMSE: 0.0328", "# True", "# 0.0041"
    claims = [re.search(r"#[^#]*?([0-9.]+|True)\b[^#]*$", line).group(1)
              for line in code.splitlines() if line.startswith("print(")]
    assert len(claims) == 3, claims
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    printed = out.getvalue().split()
    assert printed == claims
