"""Consistent pseudonyms for quote sheets: informants and listed names, in attributions and
inside quote text, tolerant of case (full names) and of inflection ("Karis" -> "Leder As")."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable

from coder.store import Store


@dataclass(frozen=True)
class Pseudonymiser:
    mapping: tuple[tuple[str, str], ...]  # (name, alias), longest names first

    def replace_text(self, text: str | None) -> str | None:
        if not text:
            return text
        for pattern, alias in self._patterns:
            text = pattern.sub(lambda m, a=alias: a + (m.group("suffix") or ""), text)
        return text

    @property
    def _patterns(self) -> list[tuple[re.Pattern, str]]:
        cached = getattr(self, "_compiled", None)
        if cached is None:
            cached = [(_pattern(name), alias) for name, alias in self.mapping]
            object.__setattr__(self, "_compiled", cached)
        return cached


def _pattern(name: str) -> re.Pattern:
    # A Norwegian genitive or plural ending stays after the alias: Karis -> Leder As.
    body = r"\s+".join(re.escape(part) for part in name.split())
    flags = re.IGNORECASE if " " in name.strip() else 0  # single first names only as proper nouns
    return re.compile(rf"(?<!\w){body}(?P<suffix>s|'s|’s|en|ens)?(?!\w)", flags)


def informant_aliases(store: Store) -> dict[str, str]:
    """Informants in import order get Informant A, B, ... (stable across runs)."""
    rows = store.conn.execute("SELECT DISTINCT informant FROM transcripts WHERE informant IS NOT NULL "
                              "AND informant != '' ORDER BY id").fetchall()
    aliases: dict[str, str] = {}
    for (informant,) in rows:
        if informant not in aliases:
            aliases[informant] = f"Informant {_letters(len(aliases))}"
    return aliases


def _letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def build(store: Store) -> Pseudonymiser:
    mapping: dict[str, str] = {}
    listed = store.conn.execute("SELECT name, alias FROM names").fetchall()
    for name, alias in listed:
        mapping[name] = alias
    for informant, alias in informant_aliases(store).items():
        mapping.setdefault(informant, alias)
    # Parts of full names (first or last name alone) map to the same alias.
    for name, alias in list(mapping.items()):
        for part in name.split():
            if len(part) >= 3 and part[0].isupper():
                mapping.setdefault(part, alias)
    ordered = tuple(sorted(mapping.items(), key=lambda kv: (-len(kv[0]), kv[0])))
    return Pseudonymiser(ordered)


def apply_to_quotes(quotes: Iterable, pseudonymiser: Pseudonymiser) -> list:
    out = []
    for quote in quotes:
        hide = pseudonymiser.replace_text
        out.append(replace(quote, informant=hide(quote.informant), text=hide(quote.text), memo=hide(quote.memo),
                           case=hide(quote.case), before=hide(quote.before), after=hide(quote.after),
                           attributes={k: hide(v) if isinstance(v, str) else v for k, v in quote.attributes.items()}))
    return out
