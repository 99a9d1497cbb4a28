"""Syntax highlighting for code blocks in a few common languages (no extra dependency).

Rules per language family: keywords, strings, comments, numbers. Multi-line strings and
block comments are not tracked across lines; for chat snippets that is an honest trade.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

_PY = (
    "and as assert async await break class continue def del elif else except False finally for "
    "from global if import in is lambda None nonlocal not or pass raise return True try while "
    "with yield match case self"
)
_JS = (
    "async await break case catch class const continue debugger default delete do else export "
    "extends false finally for function if import in instanceof let new null return super switch "
    "this throw true try typeof undefined var void while with yield interface type enum"
)
_C = (
    "auto break case char const continue default do double else enum extern float for goto if "
    "int long register return short signed sizeof static struct switch typedef union unsigned "
    "void volatile while class public private protected template typename namespace using new "
    "delete true false nullptr bool fn let mut impl trait pub use mod match loop func package "
    "go defer chan map range struct interface"
)
_SH = "if then else elif fi for while do done case esac function in export local return echo"
_SQL = (
    "select from where insert into values update set delete create table index join left right "
    "inner outer on group by order limit and or not null as primary key"
)

LANGUAGES: dict[str, tuple[str, str]] = {
    # name: (keywords, comment start)
    "python": (_PY, "#"),
    "javascript": (_JS, "//"),
    "typescript": (_JS, "//"),
    "c": (_C, "//"),
    "cpp": (_C, "//"),
    "rust": (_C, "//"),
    "go": (_C, "//"),
    "java": (_C, "//"),
    "bash": (_SH, "#"),
    "sql": (_SQL, "--"),
    "json": ("true false null", ""),
}
ALIASES = {
    "py": "python",
    "python3": "python",
    "js": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "tsx": "typescript",
    "c++": "cpp",
    "cc": "cpp",
    "h": "c",
    "rs": "rust",
    "golang": "go",
    "sh": "bash",
    "shell": "bash",
    "zsh": "bash",
    "console": "bash",
}

_STRING = re.compile(r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)")
_NUMBER = re.compile(r"\b(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\b")


def canonical(lang: str) -> str | None:
    name = ALIASES.get(lang.lower(), lang.lower())
    return name if name in LANGUAGES else None


class CodeHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument, lang: str, colors: object | None = None) -> None:
        super().__init__(document)
        from gptoss_desktop.ui.theme import DARK, LIGHT

        self.language = canonical(lang)
        c = colors or (DARK if _current_is_dark() else LIGHT)
        self._formats = {
            "keyword": _fmt(c.keyword, bold=True),  # type: ignore[attr-defined]
            "string": _fmt(c.string),  # type: ignore[attr-defined]
            "comment": _fmt(c.comment, italic=True),  # type: ignore[attr-defined]
            "number": _fmt(c.number),  # type: ignore[attr-defined]
        }
        self._keywords: re.Pattern[str] | None = None
        self._comment = ""
        if self.language is not None:
            words, self._comment = LANGUAGES[self.language]
            flags = re.IGNORECASE if self.language == "sql" else 0
            self._keywords = re.compile(r"\b(?:" + "|".join(words.split()) + r")\b", flags)

    def highlightBlock(self, text: str) -> None:
        if self.language is None:
            return
        if self._keywords is not None:
            for m in self._keywords.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), self._formats["keyword"])
        for m in _NUMBER.finditer(text):
            self.setFormat(m.start(), m.end() - m.start(), self._formats["number"])
        strings = [(m.start(), m.end()) for m in _STRING.finditer(text)]
        for start, end in strings:
            self.setFormat(start, end - start, self._formats["string"])
        if self._comment:
            pos = text.find(self._comment)
            while pos >= 0:
                if not any(s <= pos < e for s, e in strings):
                    self.setFormat(pos, len(text) - pos, self._formats["comment"])
                    break
                pos = text.find(self._comment, pos + 1)


def _fmt(color: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(color))
    if bold:
        f.setFontWeight(QFont.Weight.DemiBold)
    f.setFontItalic(italic)
    return f


def _current_is_dark() -> bool:
    from PySide6.QtGui import QGuiApplication, QPalette

    app = QGuiApplication.instance()
    if app is None:
        return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
