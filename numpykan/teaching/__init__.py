"""The course kit around the lessons in ``tutorials/``.

- :mod:`numpykan.teaching.lesson`: what every lesson shares (the ``QUICK``
  switch, the figure folder, ``savefig``, a progress callback, and
  :class:`YourTurn`, the error a student's unfinished stub raises);
- :mod:`numpykan.teaching.grader`: checks a student's functions against
  numpykan's own (values, shapes, finite differences) with messages that say
  which entry is wrong, by how much, and what to look at;
- :mod:`numpykan.teaching.exercises`: the graded exercises, lesson by lesson;
- :mod:`numpykan.teaching.course`: student and teacher notebooks from the lessons,
  and the course website.

Only :mod:`~numpykan.teaching.lesson` and the grader need nothing beyond NumPy;
building notebooks needs the ``tutorials`` extra, the website the ``docs`` extra.
"""

from .lesson import YourTurn

__all__ = ["YourTurn"]
