"""MkDocs hook: formulas become MathML when the site is built.

pymdownx.arithmatex (generic mode) wraps each formula in an ``arithmatex`` element; this
hook replaces the TeX inside with MathML from latex2mathml, which browsers render
natively. The built site needs no script and no network to show its formulas. A formula
latex2mathml cannot convert fails the build, naming the page.
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

_FORMULA = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">\\(?P<open>[(\[])(?P<tex>.*?)\\[)\]]</(?P=tag)>',
    re.S,
)


def on_page_content(content: str, page: Any, **kwargs: Any) -> str:
    def render(match: re.Match[str]) -> str:
        tex = html.unescape(match.group("tex")).strip()
        display = "block" if match.group("open") == "[" else "inline"
        try:
            mathml = convert(tex, display=display)
        except Exception as exc:  # any failure must stop the build, naming the page
            raise RuntimeError(
                f"{page.file.src_path}: cannot render formula {tex!r}: {exc}"
            ) from exc
        return f'<{match.group("tag")} class="arithmatex">{mathml}</{match.group("tag")}>'

    return _FORMULA.sub(render, content)
