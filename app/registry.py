"""The one registry type: every list of named things (methods, strategies, models, datasets,
propagations, augmentations, simulated experts) is a `Registry`.

As torchvision's `models/_api.py`: an entry is registered once under its name (a second
registration raises), its facts travel with it (a title for tables, a label for the GUI, and
whatever else the kind needs: `uses_queries`, `family`, ...), and every list the command line,
the GUI and validation show is read from the registry, in registration order.

    METHODS = Registry("method")
    METHODS.register("gnt", GNTPolicy, title="GNT", family="gnt")
    METHODS["gnt"]                  # the value (here the policy's factory)
    METHODS.entry("gnt").family     # a fact
    METHODS.where(family="gnt")     # names with that fact
"""

from dataclasses import dataclass, field
from typing import Any, Iterator

from app.errors import SettingsError

_MISSING = object()


@dataclass(frozen=True)
class Entry:
    """One registered name: its value, how people see it, and its facts."""

    name: str
    value: Any
    title: str  # short, for tables and legends ("AQPL-GNT")
    label: str  # longer, for the GUI's lists
    facts: dict = field(default_factory=dict)

    def __getattr__(self, key: str):
        try:
            return self.facts[key]
        except KeyError:
            raise AttributeError(f"{self.name} has no fact {key!r}") from None


class Registry:
    """Names → entries. Reads like a mapping of names to values (`in`, iteration, `[name]`)."""

    def __init__(self, kind: str):
        self.kind = kind  # in messages: "unknown {kind} 'x': choose one of ..."
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, value: Any = _MISSING, *, title: str | None = None, label: str | None = None, **facts):
        """Add `value` under `name` (or, without a value, a decorator that adds what it decorates)."""
        if value is _MISSING:
            return lambda decorated: self.register(name, decorated, title=title, label=label, **facts)
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        title = title or name
        self._entries[name] = Entry(name, value, title, label or title, facts)
        return value

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, name: str):
        return self._entries[name].value

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def entry(self, name: str) -> Entry | None:
        """The entry, or None for a name nobody registered."""
        return self._entries.get(name)

    def title(self, name: str) -> str:
        entry = self._entries.get(name)
        return entry.title if entry else name

    def label(self, name: str) -> str:
        entry = self._entries.get(name)
        return entry.label if entry else name

    def where(self, **facts) -> tuple[str, ...]:
        """The names whose facts hold these values, in registration order."""
        return tuple(n for n, e in self._entries.items() if all(e.facts.get(k, _MISSING) == v for k, v in facts.items()))

    def check(self, name, option: str | None = None) -> None:
        """A one-line SettingsError unless `name` is registered (`option`: the setting's name in it)."""
        check_name(name, self, option or self.kind)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"


def check_name(value, names, option: str) -> None:
    """A one-line SettingsError unless `value` is one of `names` (a Registry or a fixed list)."""
    try:
        known = value in names
    except TypeError:  # unhashable: a list where a name belongs
        known = False
    if not known:
        raise SettingsError(f"unknown {option} {value!r}: choose one of {', '.join(names)}")
