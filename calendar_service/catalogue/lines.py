"""Find the source line of a table or key in a TOML file.

tomllib returns plain dicts with no positions, so error messages would otherwise say only
"somewhere in this file". This scanner knows just enough TOML for the catalogue's shape —
table headers, arrays of tables and `key = value` lines — and skips multi-line strings.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[|\[)\s*([^\]]+?)\s*(\]\]|\])")
_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_\-]+))\s*=""")

Address = tuple[str, int | None]  # (table name, index in an array of tables or None)


class LineMap:
    def __init__(self, text: str) -> None:
        self._tables: dict[Address, int] = {}
        self._keys: dict[tuple[str, int | None, str], int] = {}
        counters: dict[str, int] = {}
        current: Address = ("", None)
        in_multiline: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER.match(line)
            if header:
                name = header.group(2).strip()
                if header.group(1) == "[[":
                    index = counters.get(name, -1) + 1
                    counters[name] = index
                    current = (name, index)
                else:
                    current = (name, None)
                self._tables.setdefault(current, number)
                continue
            key = _KEY.match(line)
            if key:
                name = key.group(1) or key.group(2) or key.group(3)
                self._keys.setdefault((current[0], current[1], name), number)
                rest = line[key.end():]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_multiline = quote
                        break

    def line(self, table: str, index: int | None = None, key: str | None = None) -> int:
        """The key's line if found, else its table's header line, else 1."""
        if key is not None and (table, index, key) in self._keys:
            return self._keys[(table, index, key)]
        return self._tables.get((table, index), 1)
