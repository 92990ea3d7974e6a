"""What both command lines share: a usage error and an unexpected failure are one line each.

The contract asks every command to exit non-zero with one clear line on stderr; argparse would
print its usage block first, and an exception its traceback.
"""

from __future__ import annotations

import argparse


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command's help: ``PROG: PROBLEM (see
    PROG COMMAND --help)``. Its subcommands' parsers are of the same class."""

    def error(self, message: str):
        self.exit(2, f"{self.prog.split()[0]}: {message} (see {self.prog} --help)\n")


def one_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its class's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def os_problem(exc: OSError) -> str:
    """A file the command could not make or read, as a technician fixes it: ``PATH: REASON``."""
    return f"{exc.filename}: {exc.strerror or exc}"
