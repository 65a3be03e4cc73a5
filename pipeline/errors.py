"""The one error type that means "the user's input is wrong" (exit code 2)."""
from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """An exception in one line for an error message: its text's first line, else its type's name."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class InputError(ValueError):
    """Bad input or bad parameters: reported as one line, never as a traceback.

    `where` names the file (or parameter), `column` and `line` pin the first
    offending place, so the user can open the file and fix it.
    """

    def __init__(self, where: str, message: str, *, column: str | None = None, line: int | None = None):
        self.where, self.column, self.line = where, column, line
        parts = [where]
        if column is not None:
            parts.append(f"column '{column}'")
        if line is not None:
            parts.append(f"line {line}")
        super().__init__(f"{', '.join(parts)}: {message}")
