"""Pseudonyms for exports: informants and listed names become their aliases, transcript ids
become neutral ids (T01, T02, ...), in every field of every row an export writes.

What counts as a name, read both sides as Unicode NFC and without regard to letter case:
- a person's full name, any run of its parts and each part alone ("Inger Marie Dahl",
  "Inger Marie", "Dahl"), with the parts separated by any spaces, line breaks, hyphens,
  dots or underscores ("Inger-Marie", "inger.marie.dahl@nav.no"), and with a Norwegian
  genitive or definite ending ("Karis kontor" -> "Informant As kontor");
- a place's full name, also at the start of a longer word ("Tjømekontoret" ->
  "Kontor 1-kontoret", "Hamars" -> "Kontor 1s");
- both also spelt without Norwegian letters or accents, as in e-mail addresses and file
  names ("trogstad.kommune.no" for Trøgstad).
A name is matched only where no letter comes before it, so "Lier" stays in "familier".

All names go into one regular expression, longest first, and the text is read once: an
alias put in is never read again, and "Inger Marie" is one alias, not one per part.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields, replace
from typing import Iterable

from coder.store import Store

# Endings a name may carry and still be the name: genitive (Karis, Hans'), definite and
# plural forms (Hamaren, Vikene). A person's name followed by any other letters is another
# word ("Tor" in "Tordenvær") and stays.
_ENDINGS = ("enes", "ens", "ene", "ets", "ers", "en", "et", "es", "as", "er", "s", "e", "a")
_ENDING_RE = "(?:" + "|".join(_ENDINGS) + "|['’]s?)"
_SEPARATOR = r"[\s\-‐‑–—_.]+"  # between the parts of a name: spaces, line breaks, hyphens, dots
_NOT_AFTER_LETTER = r"(?<![^\W\d_])"
_NO_LETTER_NEXT = r"(?![^\W\d_])"
# Small words inside names that alone are not the name ("Anne van der Berg", focus groups
# written "Kari og Per").
_PARTICLES = frozenset({"af", "and", "av", "d", "da", "de", "del", "den", "der", "di", "du", "la", "le", "og", "til",
                        "van", "von", "y"})
# Letters people write otherwise when a name must be ASCII (e-mail addresses, file names).
_ASCII_SPELLINGS = {"ø": ("o", "oe", "ö"), "æ": ("ae", "ä"), "å": ("aa", "a"), "ö": ("o", "oe", "ø"),
                    "ä": ("a", "ae", "æ"), "ü": ("u", "ue"), "ß": ("ss",)}


@dataclass(frozen=True)
class Alias:
    name: str  # NFC, as listed
    alias: str
    kind: str  # person, place or transcript


@dataclass(frozen=True)
class Pseudonymiser:
    aliases: tuple[Alias, ...]  # names and the parts that stand for them, longest first
    transcripts: tuple[tuple[str, str], ...] = ()  # (transcript id, neutral id)

    def replace_text(self, text: str | None) -> str | None:
        """Free text with every listed name (in any of the forms above) replaced."""
        if not text:
            return text
        pattern, _ = self._compiled
        if pattern is None:
            return unicodedata.normalize("NFC", text)
        return pattern.sub(self._alias_for, unicodedata.normalize("NFC", text))

    def transcript_id(self, name: str | None) -> str | None:
        """The neutral id of a transcript (its file name carries names): T01, T02, ..."""
        if name is None:
            return None
        return self._transcript_ids.get(name) or self.replace_text(name)

    def value(self, value):
        """Any value of an exported row: a transcript id becomes its neutral id, text is
        pseudonymised, lists and mappings item by item, numbers stay."""
        if isinstance(value, str):
            neutral = self._transcript_ids.get(value)
            return neutral if neutral is not None else self.replace_text(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        return value

    def quote(self, quote):
        """A quote with every text field pseudonymised and its transcript id neutral."""
        changes = {}
        for f in fields(quote):
            if f.name in _KEEP_FIELDS:
                continue
            current = getattr(quote, f.name)
            hidden = self.transcript_id(current) if f.name == "transcript" else self.value(current)
            if hidden != current:
                changes[f.name] = hidden
        return replace(quote, **changes) if changes else quote

    @property
    def _transcript_ids(self) -> dict[str, str]:
        cached = getattr(self, "_ids", None)
        if cached is None:
            cached = dict(self.transcripts)
            object.__setattr__(self, "_ids", cached)
        return cached

    @property
    def _compiled(self) -> tuple[re.Pattern | None, list[Alias]]:
        cached = getattr(self, "_pattern", None)
        if cached is None:
            cached = _compile(self.aliases)
            object.__setattr__(self, "_pattern", cached)
        return cached

    def _alias_for(self, match: re.Match) -> str:
        group = match.lastgroup
        entry = self._compiled[1][int(group[1:])]
        tail = match.string[match.end(group):match.end()]
        if not tail or entry.kind != "place" or tail.casefold() in _ENDINGS:
            return entry.alias + tail
        # a compound (Tjømekontoret): the rest of the word may hold another name
        return f"{entry.alias}-{self.replace_text(tail)}"


_KEEP_FIELDS = frozenset({"id"})  # a coding's UUID: hex digits, never a name, and must stay as it is


def _letter(char: str, *, ascii_too: bool) -> str:
    spellings = [char]
    folded = char.casefold()
    if folded != char.lower():
        spellings.append(folded)  # ß -> ss
    if ascii_too:
        spellings += _ASCII_SPELLINGS.get(char.lower(), ())
        base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
        if base and base != char:
            spellings.append(base)
    spellings = list(dict.fromkeys(spellings))
    if len(spellings) == 1:
        return re.escape(char)
    return "(?:" + "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True)) + ")"


def _body(name: str, *, ascii_too: bool) -> str:
    parts = [p for p in re.split(_SEPARATOR, name) if p]
    return _SEPARATOR.join("".join(_letter(c, ascii_too=ascii_too) for c in part) for part in parts)


def _compile(aliases: tuple[Alias, ...]) -> tuple[re.Pattern | None, list[Alias]]:
    alternatives: list[str] = []
    entries: list[Alias] = []

    def add(regex: str, entry: Alias) -> None:
        alternatives.append(regex.replace("(?P<g>", f"(?P<g{len(entries)}>", 1))
        entries.append(entry)

    for entry in aliases:
        if entry.kind == "transcript":
            add(f"(?P<g>{re.escape(entry.name)})(?![^\\W_])", entry)
            continue
        exact, loose = _body(entry.name, ascii_too=False), _body(entry.name, ascii_too=True)
        if entry.kind == "place":
            add(f"(?P<g>{exact})[^\\W\\d_]*", entry)  # Hamar, Hamars, Hamarkontoret
            if loose != exact:
                add(f"(?P<g>{loose}){_ENDING_RE}?{_NO_LETTER_NEXT}", entry)
        else:
            add(f"(?P<g>{loose}){_ENDING_RE}?{_NO_LETTER_NEXT}", entry)
    if not alternatives:
        return None, []
    pattern = re.compile(_NOT_AFTER_LETTER + "(?:" + "|".join(alternatives) + ")", re.IGNORECASE)
    return pattern, entries


def informant_aliases(store: Store) -> dict[str, str]:
    """Informants in import order get Informant A, B, ... (stable across runs)."""
    rows = store.conn.execute("SELECT DISTINCT informant FROM transcripts WHERE informant IS NOT NULL "
                              "AND informant != '' ORDER BY id").fetchall()
    aliases: dict[str, str] = {}
    for (informant,) in rows:
        if informant not in aliases:
            aliases[informant] = f"Informant {_letters(len(aliases))}"
    return aliases


def transcript_ids(store: Store) -> dict[str, str]:
    """Neutral ids in import order, T01, T02, ... (as wide as the count needs): a
    transcript's id is its file name, and file names carry names."""
    names = [name for (name,) in store.conn.execute("SELECT name FROM transcripts ORDER BY id")]
    width = max(2, len(str(len(names))))
    return {name: f"T{index:0{width}d}" for index, name in enumerate(names, start=1)}


def _letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def _people(informant: str) -> list[str]:
    """The persons in an informant field: one, or several ("Kari Dahl og Per Vik")."""
    return [p.strip() for p in re.split(r"[,;/&+]|\s+(?:og|and)\s+", informant) if p.strip()]


def build(store: Store) -> Pseudonymiser:
    nfc = lambda text: " ".join(unicodedata.normalize("NFC", text).split())  # noqa: E731
    chosen: dict[str, Alias] = {}  # by the name's folded form: the first (longest) claim wins

    def claim(name: str, alias: str, kind: str) -> None:
        key = "".join(re.split(_SEPARATOR, name.casefold()))
        if len(key) >= 2 and key not in chosen:
            chosen[key] = Alias(name, alias, kind)

    people: list[tuple[str, str]] = []
    for name, alias, kind in store.conn.execute("SELECT name, alias, kind FROM names ORDER BY name"):
        claim(nfc(name), alias, "place" if kind == "place" else "person")
        if kind != "place":
            people.append((nfc(name), alias))
    for informant, alias in informant_aliases(store).items():
        for person in [informant, *_people(informant)]:
            claim(nfc(person), alias, "person")
            people.append((nfc(person), alias))
    # A person is also named by any run of the parts of their name: "Inger Marie" or "Dahl"
    # alone, each one alias.
    for name, alias in people:
        parts = [p for p in re.split(_SEPARATOR, name) if p]
        runs = [parts[i:j] for size in range(len(parts) - 1, 0, -1) for i in range(len(parts) - size + 1)
                for j in [i + size]]
        for run in runs:
            if len(run) == 1 and run[0].casefold() in _PARTICLES:
                continue
            claim(" ".join(run), alias, "person")
    ids = transcript_ids(store)
    for transcript, neutral in ids.items():
        # identifier-like ids (hamar_1, kari-nordmann) also where they are written in text;
        # a one-word id ("intervju") may be an ordinary word and is replaced as a field only
        if len(transcript) >= 3 and re.search(r"[^\w]|[\d_]", transcript):
            chosen.setdefault("id:" + transcript.casefold(), Alias(transcript, neutral, "transcript"))
    ordered = tuple(sorted(chosen.values(), key=lambda a: (-len(a.name), a.name)))
    return Pseudonymiser(ordered, tuple(ids.items()))


def apply_to_quotes(quotes: Iterable, pseudonymiser: Pseudonymiser) -> list:
    return [pseudonymiser.quote(quote) for quote in quotes]


def hide_memo(record: dict, pseudonymiser: Pseudonymiser) -> dict:
    """A memo row of `report memos`: its text, author and target (a transcript id, or
    "transcript: code (coding)") pseudonymised."""
    target = record.get("target") or ""
    if record.get("type") == "transcript":
        target = pseudonymiser.transcript_id(target)
    elif record.get("type") == "coding" and ": " in target:
        transcript, _, rest = target.partition(": ")
        target = f"{pseudonymiser.transcript_id(transcript)}: {pseudonymiser.replace_text(rest)}"
    else:
        target = pseudonymiser.replace_text(target)
    return {**record, "target": target,
            **{k: pseudonymiser.value(v) for k, v in record.items() if k in ("text", "author")}}
