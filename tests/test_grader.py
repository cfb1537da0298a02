"""The grader passes the lessons' solutions, fails a planted mistake in each exercise, and says where.

For every graded exercise a mistake is planted in a copy of its lesson (one
textual change inside the solution); the grader must fail that exercise, pass the
lesson's others, and name the file and line of the student's function and the
wrong quantity. The student version (stubs) grades as "todo"; a notebook grades
like a script.
"""

import json
import re

import pytest

from numpykan.cli import main
from numpykan.teaching.course import student_source
from numpykan.teaching.exercises import EXERCISES
from numpykan.teaching.grader import find_lesson, grade, read_cells

# exercise -> (text in the solution, the mistake, words the message must contain)
MISTAKES = {
    "cox_de_boor": ("(t[m + p + 1] - x) / (t[m + p + 1] - t[m + 1]) * cox_de_boor(x, t, m + 1, p - 1)",
                    "(t[m + p + 1] - x) / (t[m + p + 1] - t[m]) * cox_de_boor(x, t, m + 1, p - 1)",
                    "B_(m,1)"),
    "derivative_by_hand": ("out[:, m] = k * (", "out[:, m] = (", "dB_(m,"),
    "layer_forward": ("y[:, j] += w_b[i, j] * silu(x[:, i]) + w_s[i, j] * spline_ij",
                      "y[:, j] += w_b[i, j] * silu(x[:, i]) + spline_ij", "the spline part is not"),
    "silu_prime": ("return s * (1 + x * (1 - s))", "return s * (1 + x * s)", "silu'(x)"),
    "layer_backward": ("g_coef = w_s[:, :, None] * P", "g_coef = P", "dL/dcoef"),
    "adam_update": ("m_hat = m / (1 - beta1 ** t)\n    v_hat = v / (1 - beta2 ** t)",
                    "m_hat = m\n    v_hat = v", "no bias correction"),
    "two_loop": ("for s, y, a in zip(S, Y, reversed(alphas)):", "for s, y, a in zip(S, Y, alphas):",
                 "with 3 pairs"),
    "refit_coef": ("coef.append(c_i.T)", "coef.append(c_i[:, ::-1].T)", "coef (I=1"),
    "l1_entropy_by_hand": ("dn = lamb_l1 + lamb_entropy * (-np.log(p) - S) / N",
                           "dn = lamb_l1 + lamb_entropy * (np.log(p) - S) / N", "dR/dA"),
    "activations_backward_by_hand": ('"x": np.einsum("bij,bij->bi", dA, dphi)',
                                     '"x": np.einsum("bij,bij->bi", dA, dphi) * 0.5', "dL/dx"),
    "softmax_cross_entropy": ("return L, dz / B", "return L, dz", "dL/dz"),
    "formula_edge_grads": ('"c": float(np.sum(dv * f(u)))', '"c": float(np.sum(f(u)))', "dL/dc"),
}
ALL = [ex for lesson in EXERCISES.values() for ex in lesson]


def test_every_exercise_has_a_planted_mistake():
    assert sorted(MISTAKES) == sorted(ex.name for ex in ALL)
    assert len(ALL) >= 12


@pytest.mark.parametrize("lesson", sorted(EXERCISES))
def test_the_lessons_solutions_pass(lesson):
    report = grade(lesson)
    assert report.ok, str(report)
    assert report.score == (len(EXERCISES[lesson]), len(EXERCISES[lesson]))


@pytest.mark.parametrize("ex", ALL, ids=[ex.name for ex in ALL])
def test_a_planted_mistake_fails_with_its_location(ex, tmp_path):
    old, new, words = MISTAKES[ex.name]
    source = find_lesson(ex.lesson).read_text()
    assert source.count(old) == 1, f"the text to change must occur once in lesson {ex.lesson}"
    student = tmp_path / "my_lesson.py"
    student.write_text(source.replace(old, new))
    report = grade(ex.lesson, student)
    result = report.result(ex.name)
    assert result.status == "fail", str(report)
    line = next(n for n, text in enumerate(student.read_text().splitlines(), start=1)
                if re.match(rf"def {ex.name}\(", text))
    assert f"{student}:{line}" in result.message, result.message      # file:line of the function
    assert words in result.message, result.message                    # which quantity is wrong
    assert "Look at:" in result.message or "times the right one" in result.message
    dependents = {e.name for e in EXERCISES[ex.lesson] if ex.name in e.uses}
    others = [r for r in report.results if r.name != ex.name and r.name not in dependents]
    assert all(r.ok for r in others), str(report)
    for r in report.results:
        if r.name in dependents and not r.ok:
            assert f"It uses your {ex.name}" in r.message


def _student_version(path):
    """The lesson with every exercise cell's solution replaced by its stub (as the build does)."""
    cells = read_cells(path)
    text = path.read_text()
    for cell in cells:
        if "exercise" in cell.tags:
            text = text.replace(cell.source, student_source(cell.source), 1)
    return text


@pytest.mark.parametrize("lesson", sorted(EXERCISES))
def test_stubs_grade_as_todo(lesson, tmp_path):
    student = tmp_path / "stub.py"
    student.write_text(_student_version(find_lesson(lesson)))
    report = grade(lesson, student)
    assert [r.status for r in report.results] == ["todo"] * len(EXERCISES[lesson]), str(report)
    assert "still the stub" in str(report)


def test_a_notebook_grades_like_the_script(tmp_path):
    cells = read_cells(find_lesson(3))
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": c.kind, "metadata": {"tags": list(c.tags)}, "source": c.source,
                     **({"outputs": [], "execution_count": None} if c.kind == "code" else {})}
                    for c in cells]}
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps(nb))
    assert grade(3, path).ok
    src = nb["cells"]
    for c in src:
        if c["cell_type"] == "code" and "exercise" in c["metadata"]["tags"]:
            c["source"] = c["source"].replace("g_wb = silu(x).T @ dy", "g_wb = silu(x).T @ dy * 2")
    path.write_text(json.dumps(nb))
    report = grade(3, path)
    result = report.result("layer_backward")
    assert result.status == "fail" and "(cell " in result.message and "dL/dw_b" in result.message
    assert "2 times the right one" in result.message


def test_a_plain_module_with_the_functions_is_graded(tmp_path):
    cells = read_cells(find_lesson(8))
    code = next(c.source for c in cells if "exercise" in c.tags)
    (tmp_path / "mine.py").write_text("import numpy as np\n" + code)
    assert grade(8, tmp_path / "mine.py").ok


def test_cli_exit_status(tmp_path, capsys):
    assert main(["grade", "08"]) == 0
    student = tmp_path / "bad.py"
    student.write_text(find_lesson(8).read_text().replace("return L, dz / B", "return L, dz"))
    assert main(["grade", "8", str(student)]) == 1
    out = capsys.readouterr().out
    assert "FAIL    softmax_cross_entropy" in out and "0 of 1 exercises pass" in out


def test_cli_refuses_a_lesson_without_exercises(capsys):
    assert main(["grade", "07"]) == 2                 # a one-line error, as every CLI mistake
    err = capsys.readouterr().err
    assert err.startswith("numpykan: error: ") and "no graded exercises" in err
    assert len(err.splitlines()) == 1
