"""Query-string parameters, declared once and parsed by one parser.

A `Params` spec names each parameter and its kind (`Flag`, `Integer`, `Day`, `Choice`,
`Slugs`, `Text`); `parse` takes any mapping of strings (a werkzeug MultiDict, whose
`getlist` gives every value of a repeated parameter, or a plain dict) and returns the typed
values, or raises `ParamError` with a Vietnamese message that names the parameter and says
what is expected. Pure Python: no Flask, so the command line and the tests use it as is.

What every value goes through, in this order, before its kind looks at it:
  * a parameter that is not repeatable may be given once only;
  * a maximum length (200 characters unless the kind says otherwise), before anything
    else reads the value;
  * no control characters (C0 and DEL: a NUL must never reach a database);
  * in the HTML forms' mode, surrounding white space is stripped and an empty value is
    "not given" (untouched fields arrive empty); in `strict` mode (the API) a value is
    read exactly as given and an empty one is an error, except for free text, where
    empty simply means no text.
Then: booleans are 1/0, true/false, yes/no, on/off (any case); numbers are ASCII digits
only, at most ten of them before int() sees them; days are ASCII YYYY-MM-DD between 1900
and 2200, so adding a listing window to one never overflows `date`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

MAX_LENGTH = 200
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2200, 12, 31)
# The years every year parameter and page accepts (a feed's, a year page's, a plan's).
FIRST_YEAR, LAST_YEAR = EARLIEST_DAY.year, LATEST_DAY.year
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]{1,10}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ParamError(ValueError):
    """A malformed parameter; the message (Vietnamese) names it and is shown to the client."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def shown(raw: str, limit: int = 20) -> str:
    """A value as a message quotes it: repr (controls visible), long ones cut short."""
    return repr(raw if len(raw) <= limit else raw[:limit] + "…")


class Kind:
    """How one parameter's value is read. Subclasses set `expected` (what a message says is
    needed), `default` (the value when not given) and `convert` (a non-empty, control-free
    value to its typed value, or ParamError)."""

    max_length = MAX_LENGTH
    repeatable = False
    lenient = False  # True: stripped, and empty is "not given", even in strict mode
    default: Any = None

    def expected(self) -> str:
        raise NotImplementedError

    def convert(self, name: str, value: str, strict: bool = False) -> Any:
        raise NotImplementedError

    def fail(self, name: str, raw: str) -> ParamError:
        return ParamError(name, f"Tham số {name}={shown(raw)}: {self.expected()}.")

    def combine(self, values: list[Any]) -> Any:
        """The typed values of a repeatable parameter, as one value."""
        return values[0]


class Flag(Kind):
    default = False
    max_length = 20

    def expected(self) -> str:
        return "dùng 1 hoặc 0 (cũng nhận true/false, yes/no, on/off)"

    def convert(self, name: str, value: str, strict: bool = False) -> bool:
        word = value.lower()
        if word in TRUE:
            return True
        if word in FALSE:
            return False
        raise self.fail(name, value)


class Integer(Kind):
    """A whole number from `low` to `high` (both at least 0), in ASCII digits."""

    def __init__(self, low: int, high: int, default: int | None = None) -> None:
        if not 0 <= low <= high:
            raise ValueError("Integer: 0 <= low <= high")
        self.low, self.high, self.default = low, high, default

    def expected(self) -> str:
        return f"cần số nguyên từ {self.low} đến {self.high}"

    def convert(self, name: str, value: str, strict: bool = False) -> int:
        # ASCII only: "²".isdigit() is true yet int("²") fails, and int("٣") is 3.
        if not _DIGITS.fullmatch(value):
            raise self.fail(name, value)
        number = int(value)
        if not self.low <= number <= self.high:
            raise self.fail(name, value)
        return number


class Day(Kind):
    """A day written YYYY-MM-DD, from `low` to `high` (default 1900-01-01 to 2200-12-31)."""

    max_length = 20

    def __init__(self, low: date = EARLIEST_DAY, high: date = LATEST_DAY) -> None:
        self.low, self.high = low, high

    def expected(self) -> str:
        return (f"cần ngày dạng YYYY-MM-DD, từ {self.low.isoformat()} "
                f"đến {self.high.isoformat()}")

    def convert(self, name: str, value: str, strict: bool = False) -> date:
        if not _DAY.fullmatch(value):
            raise self.fail(name, value)
        try:
            day = date.fromisoformat(value)
        except ValueError:  # 2024-02-30
            raise self.fail(name, value) from None
        if not self.low <= day <= self.high:
            raise self.fail(name, value)
        return day


class Choice(Kind):
    """One of a few fixed words (case as written)."""

    def __init__(self, values, default: str | None = None) -> None:
        self.values = tuple(values)
        self.default = default

    def expected(self) -> str:
        return "chọn một trong: " + ", ".join(self.values)

    def convert(self, name: str, value: str, strict: bool = False) -> str:
        if value not in self.values:
            raise self.fail(name, value)
        return value


class Slugs(Kind):
    """Names from `allowed`, comma-separated and (if `repeatable`) given several times;
    the result is a sorted tuple without repeats, () when none is given. In strict mode
    the list is exact ("a,b"); the forms' mode also takes "a, b" and "a,"."""

    default = ()

    def __init__(self, allowed, *, repeatable: bool = True) -> None:
        self.allowed = frozenset(allowed)
        self.repeatable = repeatable

    def expected(self) -> str:
        return ("không có giá trị này; chọn trong: " + ", ".join(sorted(self.allowed))
                + " (cách nhau bằng dấu phẩy)")

    def convert(self, name: str, value: str, strict: bool = False) -> tuple[str, ...]:
        chosen = set()
        for part in value.split(","):
            slug = part if strict else part.strip()
            if not slug and not strict:
                continue
            if slug not in self.allowed:
                raise self.fail(name, slug)
            chosen.add(slug)
        return tuple(sorted(chosen))

    def combine(self, values: list[Any]) -> tuple[str, ...]:
        return tuple(sorted({slug for value in values for slug in value}))


class Text(Kind):
    """Free text, stripped; "" when not given. Empty is no error, even in strict mode."""

    default = ""
    lenient = True

    def __init__(self, max_length: int = MAX_LENGTH) -> None:
        self.max_length = max_length

    def expected(self) -> str:
        return f"tối đa {self.max_length} ký tự"

    def fail(self, name: str, raw: str) -> ParamError:
        return ParamError(name, f"Tham số {name}: {self.expected()}.")

    def convert(self, name: str, value: str, strict: bool = False) -> str:
        return value


class Values(Mapping[str, Any]):
    """The parsed values, by name (`values["from"]`) or as attributes (`values.page`);
    `given` holds the names that had a non-empty value."""

    __slots__ = ("_values", "given")

    def __init__(self, values: dict[str, Any], given: frozenset[str]) -> None:
        self._values = values
        self.given = given

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Values({self._values!r})"


def _all_values(args: Mapping[str, str], name: str) -> list[str]:
    if hasattr(args, "getlist"):
        return list(args.getlist(name))
    return [args[name]] if name in args else []


class Params:
    """A declared set of parameters: `Params({"from": Day()}, page=Integer(1, 10))`.
    Parameters the spec does not name are ignored."""

    def __init__(self, kinds: Mapping[str, Kind] | None = None, /, **more: Kind) -> None:
        self.kinds: dict[str, Kind] = {**(kinds or {}), **more}

    def parse(self, args: Mapping[str, str], strict: bool = False) -> Values:
        values: dict[str, Any] = {}
        given: set[str] = set()
        for name, kind in self.kinds.items():
            typed = []
            raws = _all_values(args, name)
            if len(raws) > 1 and not kind.repeatable:
                raise ParamError(name, f"Tham số {name} chỉ được cho một lần.")
            for raw in raws:
                if len(raw) > kind.max_length:  # first: nothing else reads a huge value
                    raise kind.fail(name, raw)
                if CONTROL.search(raw):
                    raise ParamError(name, f"Tham số {name}={shown(raw)}: không được chứa "
                                           f"ký tự điều khiển.")
                value = raw if strict and not kind.lenient else raw.strip()
                if not value:
                    if strict and not kind.lenient:
                        raise ParamError(name, f"Tham số {name} không được để trống.")
                    continue
                typed.append(kind.convert(name, value, strict))
            if typed:
                values[name] = kind.combine(typed)
                given.add(name)
            else:
                values[name] = kind.default
        return Values(values, frozenset(given))
