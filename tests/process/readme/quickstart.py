"""The README's quick start as data: its marked code blocks, read from README.md.

A block is marked by the HTML comment ``<!-- quickstart:NAME -->`` on the line before
its opening fence; :func:`blocks` returns NAME -> the block's text.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"
_BLOCK = re.compile(r"<!-- quickstart:(\w+) -->\n```\w*\n(.*?)```", re.DOTALL)


def blocks(text: str | None = None) -> dict[str, str]:
    """The README's quick-start blocks by name."""
    found: dict[str, str] = {}
    for name, body in _BLOCK.findall(README.read_text() if text is None else text):
        assert name not in found, f"two README blocks are marked quickstart:{name}"
        found[name] = body
    return found


def commands(block: str) -> list[str]:
    """The shell commands of a block, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line]


def substitute(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced; fails when the README no longer says ``old``."""
    assert old in text, f"the README's quick start no longer contains {old!r}"
    return text.replace(old, new)
