"""`-o jsonc` and `-o yamlc`: the plain text coloured for a terminal, with az's own colours.

az colours with Pygments' JSON or YAML lexer and its 16-colour terminal formatter; Pygments is already
here (rich depends on it), so using the same pair gives the same escape codes, not a look-alike.
"""

from __future__ import annotations


def colourise(text: str, language: str = "json") -> str:
    """`text` (JSON or YAML, as `language` says) with ANSI colours."""
    from pygments import highlight  # type: ignore[import-untyped]  # no stubs; loaded only to colour
    from pygments.formatters import TerminalFormatter  # type: ignore[import-untyped]
    from pygments.lexers import JsonLexer, YamlLexer  # type: ignore[import-untyped]

    lexer = YamlLexer() if language == "yaml" else JsonLexer()
    return str(highlight(text, lexer, TerminalFormatter()))
