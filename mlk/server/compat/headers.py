"""A small case-insensitive, multi-valued header collection (the part of werkzeug's Headers scripts use)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Headers:
    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)

    @staticmethod
    def _key(name: str) -> str:
        return name.lower()

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = self._key(name)
        for key, value in self._items:
            if self._key(key) == wanted:
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        wanted = self._key(name)
        return [v for k, v in self._items if self._key(k) == wanted]

    def add(self, name: str, value: object) -> None:
        self._items.append((name, str(value)))

    add_header = add

    def set(self, name: str, value: object) -> None:
        self.remove(name)
        self._items.append((name, str(value)))

    def remove(self, name: str) -> None:
        wanted = self._key(name)
        self._items = [(k, v) for k, v in self._items if self._key(k) != wanted]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: object) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        self.remove(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def keys(self) -> list[str]:
        return [k for k, _ in self._items]

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class RequestHeaders(Headers):
    """A request's headers as Flask gives them (werkzeug's EnvironHeaders): read through the WSGI environ,
    where `is-stream` and `is_stream` are the same key (HTTP_IS_STREAM). Scripts rely on it."""

    @staticmethod
    def _key(name: str) -> str:
        return name.lower().replace("_", "-")


class ContentTyped:
    """`content_type` and `mimetype` read from `headers`, as werkzeug's requests and uploads offer them."""

    headers: Headers

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def mimetype(self) -> str:
        return (self.content_type or "").split(";")[0].strip().lower()
