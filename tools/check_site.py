"""Check a built documentation site: it must work offline and read as written.

Usage: python tools/check_site.py SITE_DIR

Fails (exit 1, one line per finding) when a page
* loads a script, style sheet, font or image from the network (the site must render
  offline; plain links to other sites are fine), or
* shows a raw Sphinx role such as :class:`X` or :meth:`X` (docstrings use mkdocstrings
  cross-references, [X][relcore.X], instead).
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|obj|exc|ref):[`~\w]")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.remote: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        url = None
        if tag in ("script", "img", "iframe", "source", "audio", "video"):
            url = a.get("src")
        elif tag == "link" and (a.get("rel") or "") != "canonical":
            url = a.get("href")
        if url and re.match(r"(https?:)?//", url):
            self.remote.append(f"<{tag}> {url}")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def check(site: Path) -> list[str]:
    problems = []
    for page in sorted(site.rglob("*.html")):
        parser = _Page()
        parser.feed(page.read_text(encoding="utf-8"))
        rel = page.relative_to(site)
        problems += [f"{rel}: loads from the network: {url}" for url in parser.remote]
        text = "".join(parser.text)
        for match in _ROLE.finditer(text):
            snippet = text[match.start() : match.start() + 60].split("\n")[0]
            problems.append(f"{rel}: raw Sphinx role: {snippet}")
    css = [
        p
        for p in site.rglob("*.css")
        if re.search(
            r"@import\s+url\(\s*['\"]?https?:", p.read_text(encoding="utf-8", errors="replace")
        )
    ]
    problems += [f"{p.relative_to(site)}: imports a style sheet from the network" for p in css]
    return problems


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(Path(sys.argv[1]))
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s) in the built site", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
