"""Load one YAML document into plain Python values, remembering where every key and value sits.

PyYAML's `safe_load` forgets positions and silently keeps the last of two duplicate keys; both matter
for reporting problems as `FILE:LINE:COL`, so we compose the node graph and build the values ourselves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlk.errors import SpecError
from mlk.specs.problems import JsonPath, Problem, Severity

try:  # libyaml is several times faster when the wheel carries it
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"

Position = tuple[int, int]
MAX_BYTES = 4 * 1024 * 1024
"""A YAML file mlk reads is at most this big: Azure ML specs are a few KB; a larger file is refused unread."""
MAX_VALUES = 100_000
"""At most this many values are built from one document: aliases inside aliases (a "billion laughs" bomb)
expand exponentially; this stops one in well under a second and a few MB, far above any real spec."""
MAX_DEPTH = 100
"""At most this many levels of nesting: Azure ML specs nest a handful; far deeper ones would exhaust
Python's recursion limit in the checks that walk the document."""
_SCALAR_KEY = (str, int, float, bool, bytes, type(None))


@dataclass
class Document:
    """A parsed file: its data and where each part of it came from."""

    file: str
    """The file name used in messages (as the user typed it)."""
    data: Any
    values: dict[JsonPath, Position] = field(default_factory=dict)
    """Position of each value (1-based line and column)."""
    keys: dict[JsonPath, Position] = field(default_factory=dict)
    """Position of the key that introduces each mapping entry."""
    problems: list[Problem] = field(default_factory=list)
    """Problems found while reading (duplicate keys)."""
    collections: set[JsonPath] = field(default_factory=set)
    """Paths whose value is a mapping or list: problems about them point at their key."""
    overridden: set[JsonPath] = field(default_factory=set)
    """Paths whose value came from `--set` rather than the file."""

    def locate(self, path: JsonPath, *, key: bool = False) -> Position:
        """Position of `path`, or of its closest existing parent when it is absent."""
        probe = tuple(path)
        if key and probe in self.keys:
            return self.keys[probe]
        while probe:
            if probe in self.collections and probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def problem(
        self, path: JsonPath, message: str, severity: Severity = Severity.ERROR, *, key: bool = False
    ) -> Problem:
        """A Problem located in this document; values set with --set say so."""
        if any(path[: len(o)] == o for o in self.overridden):
            message += " (set with --set)"
        return Problem(self.file, *self.locate(path, key=key), path, message, severity)


def _pos(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.constructor = yaml.constructor.SafeConstructor()
        self.built = 0
        self.open: set[int] = set()  # the collection nodes being built: meeting one again is a recursive alias

    def _refuse(self, node: yaml.Node, path: JsonPath, message: str, hint: str) -> SpecError:
        return SpecError(f"{self.doc.file}: {message}", [Problem(self.doc.file, *_pos(node), path, message)], hint=hint)

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.built += 1
        if self.built > MAX_VALUES:
            raise self._refuse(
                node,
                path,
                f"the document expands to more than {MAX_VALUES:,} values (aliases of aliases)",
                "an Azure ML file repeats no block that often: remove the nested &anchor/*alias references",
            )
        if len(path) > MAX_DEPTH:
            raise self._refuse(
                node,
                path,
                f"the document nests more than {MAX_DEPTH} levels deep",
                "an Azure ML file nests a few levels: look for unclosed [ or { brackets",
            )
        self.doc.values[path] = _pos(node)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in self.open:
                raise self._refuse(
                    node,
                    path,
                    "this alias refers to a block that contains it (a recursive alias)",
                    "an alias must name a block defined before it and outside it",
                )
            self.open.add(id(node))
            self.doc.collections.add(path)
            try:
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, path)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        if node.tag == _TIMESTAMP:  # keep dates as written: specs never want datetime objects
            return node.value
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: JsonPath) -> Any:
        """The value of a scalar; one whose explicit tag does not fit it (`!!int abc`, `!!float ''`) is a
        located error rather than whatever PyYAML's constructor happens to raise."""
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise
        except (ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self._refuse(
                node,
                path,
                f"{_shown(node.value)} is not a valid {tag} value",
                f"remove the {tag} tag, or write a value of that type",
            ) from None

    def _key(self, node: yaml.ScalarNode, path: JsonPath) -> Any:
        key = self._scalar(node, path)
        if not isinstance(key, _SCALAR_KEY):  # `!!set a: 1` makes the key a set: not a name at all
            raise self._refuse(
                node,
                path,
                "a mapping key must be a plain value, not a list or mapping",
                "remove the tag in front of the key",
            )
        return key

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[Any, Any]:
        seen: dict[Any, Position] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self._key(key_node, path)
            if key in seen:
                line = seen[key][0]
                self.doc.problems.append(
                    Problem(
                        self.doc.file,
                        *_pos(key_node),
                        (*path, str(key)),
                        f"duplicate key '{key}' (first at line {line}); YAML keeps only the last one",
                        Severity.WARNING,  # Azure keeps the last one silently: the file must still work
                    )
                )
            seen[key] = _pos(key_node)
        # Resolves `<<: *anchor` merge keys in place; explicit keys come last and win, as YAML says.
        self.constructor.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError(
                    f"{self.doc.file}: a mapping key must be a plain value",
                    [
                        Problem(
                            self.doc.file,
                            *_pos(key_node),
                            path,
                            "a mapping key must be a plain value, not a list or mapping",
                        )
                    ],
                )
            key = self._key(key_node, path)
            if key_node.tag != _STR:
                key = str(key).lower() if isinstance(key, bool) else str(key)
            child = (*path, key)
            self.doc.keys[child] = _pos(key_node)
            out[key] = self.build(value_node, child)
        return out


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else "the value"
    return text if len(text) <= 40 else text[:37] + "...'"


TEMPLATE_HINT = "the file has `{{...}}` template placeholders (Azure's samples fill them with sed): fill them in"


def parse_text(text: str, file: str) -> Document:
    """Parse one YAML document; syntax errors become a SpecError with line and column."""
    try:
        return _parse(text, file)
    except SpecError as exc:
        if "{{" not in text:
            raise
        # An unfilled placeholder is the usual cause: say so on the problem line itself.
        problems = [dataclasses.replace(p, message=f"{p.message} — {TEMPLATE_HINT}") for p in exc.problems]
        raise SpecError(str(exc), problems, hint=exc.hint) from None


def _parse(text: str, file: str) -> Document:
    doc = Document(file=file, data=None)
    if len(text) > MAX_BYTES:
        raise SpecError(
            f"{file}: {len(text):,} characters, more than an Azure ML file ({MAX_BYTES:,} at most)",
            [Problem(file, 1, 1, (), f"the file is larger than {MAX_BYTES:,} characters")],
            hint="give the YAML spec itself, not a data file",
        )
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in str(exc.problem):  # point at what was left open, not at EOF
            mark = exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise SpecError(
            f"{file}: YAML syntax error",
            [Problem(file, line, col, (), f"YAML syntax error: {what}")],
            hint="fix the YAML syntax at the line shown (indentation, a missing ':' or quote)",
        ) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{file}: YAML syntax error", [Problem(file, 1, 1, (), f"YAML syntax error: {exc}")]) from exc
    if node is None:
        raise SpecError(
            f"{file}: the file is empty",
            [Problem(file, 1, 1, (), "the file is empty")],
            hint="an Azure ML YAML file is a mapping with at least `name:`",
        )
    try:
        doc.data = _Builder(doc).build(node, ())
    except RecursionError:  # a merge key (<<) that reaches itself, which PyYAML's flattening follows for ever
        raise SpecError(
            f"{file}: a recursive alias",
            [Problem(file, *_pos(node), (), "a merge (<<) or alias refers to a block that contains it")],
            hint="an alias must name a block defined before it and outside it",
        ) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError(
            f"{file}: unsupported YAML", [Problem(file, line, col, (), f"unsupported YAML: {exc.problem}")]
        ) from exc
    return doc
