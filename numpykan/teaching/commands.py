"""The teaching commands of the ``numpykan`` CLI: ``grade`` and ``course`` (build, site).

``numpykan.cli.build_parser`` registers them with :func:`add_teaching_parsers`.
"""

from .course import add_course_parser
from .grader import add_grade_parser

__all__ = ["add_teaching_parsers"]


def add_teaching_parsers(sub):
    """Add ``numpykan grade`` and ``numpykan course`` to an argparse subparsers object."""
    add_grade_parser(sub)
    add_course_parser(sub)
