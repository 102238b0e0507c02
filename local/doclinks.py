"""`python -m local.doclinks FILE.md...`: every relative link and #anchor in the docs resolves.

Anchors follow GitHub's heading slugs (lowercase; punctuation but `-` and `_` dropped; each
space a `-`; a repeated heading gets `-1`, `-2`, ...), so a link that works here works on
GitHub. Links to other sites are not fetched: the checks run without a network.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target); the text may hold `code` with brackets inside it.
_LINK = re.compile(r"!?\[(?:[^\[\]`]|`[^`]*`)*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


@dataclass(frozen=True)
class Broken:
    file: Path
    line: int
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.target}: {self.reason}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text (before duplicates are numbered)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _lines_outside_code(text: str) -> Iterator[tuple[int, str]]:
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None:
            yield number, line


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in _lines_outside_code(path.read_text(encoding="utf-8")):
        heading = _HEADING.match(line)
        if heading is None:
            continue
        base = slug(heading.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def _targets(line: str) -> Iterator[str]:
    reference = _REFERENCE.match(line)
    if reference:
        yield reference.group(1)
        return
    # A link written inside a code span is text, not a link.
    for match in _LINK.finditer(line):
        if not _inside_code(line, match.start()):
            yield match.group(1)


def _inside_code(line: str, position: int) -> bool:
    return any(code.start() < position < code.end() for code in _INLINE_CODE.finditer(line))


def check(path: Path) -> list[Broken]:
    """Every relative link and anchor in `path` that does not resolve."""
    broken: list[Broken] = []
    for number, line in _lines_outside_code(path.read_text(encoding="utf-8")):
        for target in _targets(line):
            reason = _problem(path, target)
            if reason is not None:
                broken.append(Broken(path, number, target, reason))
    return broken


def _problem(source: Path, target: str) -> str | None:
    if not target:
        return "empty link"
    if _EXTERNAL.match(target):
        return None
    file_part, _, anchor = target.partition("#")
    destination = (source.parent / file_part).resolve() if file_part else source.resolve()
    if not destination.exists():
        return f"no such file {destination.name!r}"
    if not anchor:
        return None
    if destination.suffix != ".md":
        return "an anchor into a file that is not Markdown"
    if anchor not in anchors(destination):
        return f"no heading with the anchor #{anchor} in {destination.name}"
    return None


def main(argv: list[str] | None = None) -> int:
    paths = [Path(name) for name in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m local.doclinks FILE.md...", file=sys.stderr)
        return 2
    broken = [problem for path in paths for problem in check(path)]
    for problem in broken:
        print(problem, file=sys.stderr)
    if broken:
        print(f"{len(broken)} broken link(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
