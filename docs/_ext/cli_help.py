"""The ``sapp-help`` directive: a verb's ``--help`` text, taken from the parser.

``.. sapp-help:: bench`` renders what ``sapp bench --help`` prints, built from
:func:`neural.cli.build_parser` at documentation time, so the command-line
reference cannot drift from the command. With ``:each:`` it also renders the
help of every verb below it (every ``sapp bench VERB``), so a new verb appears
without an edit here.
"""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

HELP_WIDTH = "88"


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    """The parsers of the verbs below ``parser``, by name (empty if none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def find_parser(words: list[str]) -> argparse.ArgumentParser:
    """The parser of ``sapp WORDS``, with a bench verb's own options added."""
    from neural.cli import build_parser

    bench = words[1] if len(words) > 1 and words[0] == "bench" else None
    parser = build_parser(bench)
    for word in words:
        verbs = _subcommands(parser)
        if word not in verbs:
            raise ValueError(f"`sapp {' '.join(words)}` is not a command of sapp")
        parser = verbs[word]
    return parser


def help_text(words: list[str]) -> str:
    """What ``sapp WORDS --help`` prints, at 88 columns."""
    parser = find_parser(words)
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        return parser.format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def _block(text: str) -> nodes.literal_block:
    block = nodes.literal_block(text, text)
    block["language"] = "text"
    return block


class SappHelp(SphinxDirective):
    """Render ``sapp ARGUMENTS --help`` (and with ``:each:``, its verbs')."""

    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = {"each": directives.flag}

    def run(self):
        """The help text(s) as literal blocks."""
        words = self.arguments[0].split() if self.arguments else []
        try:
            result = [_block(help_text(words))]
            if "each" in self.options:
                for verb in _subcommands(find_parser(words)):
                    command = " ".join(["sapp", *words, verb])
                    result.append(nodes.rubric("", "", nodes.literal(command, command)))
                    result.append(_block(help_text([*words, verb])))
        except ValueError as error:
            raise self.error(str(error)) from error
        return result


def setup(app):
    """Register the directive."""
    app.add_directive("sapp-help", SappHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
