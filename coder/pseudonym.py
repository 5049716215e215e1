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
One part of a person's name alone ("Per", "Vik" of "Per Vik") is matched only where it is
written as a name, with a capital or in capitals, or inside an e-mail address or a file name
("per.vik@nav.no", "per_intervju.txt"): in lower case in a sentence it is an ordinary word
("to ganger per måned", "en vik ved fjorden"). A full name is matched in any case.

The text is read once, word by word: a word is looked up by its folded form (case, accents
and Norwegian letters taken out) among the first words of the names, so the cost grows with
the text, not with the number of names. An alias put in is never read again, and
"Inger Marie" is one alias, not one per part.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields, replace
from typing import Iterable

from coder.store import Store
from coder.store import names as names_store
from coder.store import transcripts as transcripts_store

# Endings a name may carry and still be the name: genitive (Karis, Hans'), definite and
# plural forms (Hamaren, Vikene). A person's name followed by any other letters is another
# word ("Tor" in "Tordenvær") and stays.
_ENDINGS = ("enes", "ens", "ene", "ets", "ers", "en", "et", "es", "as", "er", "s", "e", "a")
_ENDING_SET = frozenset(_ENDINGS)
_LONGEST_ENDING = max(map(len, _ENDINGS))
_SEPARATOR = r"[\s\-‐‑–—_.]+"  # between the parts of a name: spaces, line breaks, hyphens, dots
_SEPARATOR_RE = re.compile(_SEPARATOR)
_WORD = re.compile(r"[^\W\d_]+|\d+")  # runs of letters, runs of digits
_GENITIVE_MARKS = ("'s", "’s")
# Small words inside names that alone are not the name ("Anne van der Berg", focus groups
# written "Kari og Per").
_PARTICLES = frozenset({"af", "and", "av", "d", "da", "de", "del", "den", "der", "di", "du", "la", "le", "og", "til",
                        "van", "von", "y"})
# Letters people write otherwise when a name must be ASCII (e-mail addresses, file names).
_ASCII = str.maketrans({"ø": "o", "ö": "o", "æ": "ae", "ä": "ae", "å": "a", "ü": "u"})


def _fold(word: str) -> str:
    """A word as compared: case-folded, without accents, æ/ø/å as ae/o/a (Trøgstad,
    TROGSTAD and trögstad are one word; so are Håkon and Haakon)."""
    word = unicodedata.normalize("NFD", word.casefold().translate(_ASCII))
    return "".join(c for c in word if not unicodedata.combining(c)).translate(_ASCII).replace("aa", "a")


@dataclass(frozen=True)
class Alias:
    name: str  # NFC, as listed
    alias: str
    kind: str  # person, place or transcript
    part: bool = False  # one word of a longer person's name: matched only where written as a name


@dataclass(frozen=True)
class Pseudonymiser:
    aliases: tuple[Alias, ...]  # names and the parts that stand for them, longest first
    transcripts: tuple[tuple[str, str], ...] = ()  # (transcript id, neutral id)

    def replace_text(self, text: str | None) -> str | None:
        """Free text with every listed name (in any of the forms above) replaced."""
        if not text:
            return text
        return self._matcher.replace(unicodedata.normalize("NFC", text))

    def replacements(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, alias) of every name replace_text replaces in an NFC text, in order:
        for an export that must move offsets into the text with it (REFI-QDA selections)."""
        return self._matcher.spans(text) if text else []

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
    def _matcher(self) -> "_Matcher":
        cached = getattr(self, "_built", None)
        if cached is None:
            cached = _Matcher(self.aliases)
            object.__setattr__(self, "_built", cached)
        return cached


_KEEP_FIELDS = frozenset({"id"})  # a coding's UUID: hex digits, never a name, and must stay as it is


@dataclass(frozen=True)
class _Name:
    words: tuple[str, ...]  # folded
    separators: tuple[str, ...]  # as the name writes them (an apostrophe in O'Neil)
    last: str  # the last word, case-folded only: a place is a compound's first part only as written
    entry: Alias


class _Matcher:
    """Finds the names in a text: each word is looked up among the names' first words."""

    def __init__(self, aliases: Iterable[Alias]):
        self.by_first: dict[str, list[_Name]] = {}  # folded first word -> names, longest first
        self.places: dict[str, list[_Name]] = {}  # one-word places by their case-folded word
        self.place_starts: set[str] = set()
        self.folded: dict[str, str] = {}
        for entry in aliases:
            words = _WORD.findall(entry.name)
            if not words:
                continue
            spans = [m.span() for m in _WORD.finditer(entry.name)]
            separators = tuple(entry.name[a[1]:b[0]] for a, b in zip(spans, spans[1:]))
            name = _Name(tuple(map(_fold, words)), separators, words[-1].casefold(), entry)
            self.by_first.setdefault(name.words[0], []).append(name)
            if entry.kind == "place" and len(words) == 1:
                self.places.setdefault(name.last, []).append(name)
                self.place_starts.add(name.last[:2])
        self.longest_place = max(map(len, self.places), default=0)

    def fold(self, word: str) -> str:
        folded = self.folded.get(word)
        if folded is None:
            folded = self.folded[word] = _fold(word)
        return folded

    def replace(self, text: str) -> str:
        out, done = [], 0
        for start, end, replacement in self.spans(text):
            out += [text[done:start], replacement]
            done = end
        if not out:
            return text
        out.append(text[done:])
        return "".join(out)

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, replacement) of each name in the text, in order."""
        words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
        found_spans, i = [], 0
        while i < len(words):
            found = self.match(text, words, i)
            if found is None:
                i += 1
                continue
            end, replacement = found
            found_spans.append((words[i][1], end, replacement))
            while i < len(words) and words[i][1] < end:
                i += 1
        return found_spans

    def match(self, text: str, words: list, i: int) -> tuple[int, str] | None:
        """The longest name starting at word i: (where it ends, what replaces it)."""
        word = words[i][0]
        folded = self.fold(word)
        candidates = list(self.by_first.get(folded, ()))
        for length in range(1, min(_LONGEST_ENDING, len(folded) - 1) + 1):  # Karis, Hamaren
            if folded[-length:] in _ENDING_SET:
                candidates += [n for n in self.by_first.get(folded[:-length], ()) if len(n.words) == 1]
        lowered = word.casefold()
        if self.places and lowered[:2] in self.place_starts:  # Tjømekontoret
            for length in range(min(len(lowered) - 1, self.longest_place), 1, -1):
                candidates += self.places.get(lowered[:length], ())
        best = None
        for name in candidates:
            found = self.match_name(text, words, i, name)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        return best

    def match_name(self, text: str, words: list, i: int, name: _Name) -> tuple[int, str] | None:
        entry = name.entry
        if entry.kind == "transcript":  # an id as written, whole: hamar_1 (not hamar_10)
            start, end = words[i][1], words[i][1] + len(entry.name)
            if text[start:end].casefold() != entry.name.casefold() or (end < len(text) and text[end].isalnum()):
                return None
            return end, entry.alias
        count = len(name.words)
        if i + count > len(words):
            return None
        if entry.part and not _written_as_name(text, words[i][1], words[i][2]):
            return None
        for k in range(1, count):
            between = text[words[i + k - 1][2]:words[i + k][1]]
            if not (between == name.separators[k - 1] or _SEPARATOR_RE.fullmatch(between)):
                return None
            if k < count - 1 and self.fold(words[i + k][0]) != name.words[k]:
                return None
        word, _, end = words[i + count - 1]
        folded = self.fold(word)
        if folded == name.words[-1]:
            tail = ""
        elif entry.kind == "place" and word[:len(name.last)].casefold() == name.last:
            tail = word[len(name.last):]  # Hamars, Hamarkontoret
        elif folded.startswith(name.words[-1]) and folded[len(name.words[-1]):] in _ENDING_SET:
            tail = word[len(word) - (len(folded) - len(name.words[-1])):]  # Karis
        else:
            return None
        if not tail and text.startswith(_GENITIVE_MARKS, end) and not text[end + 2:end + 3].isalpha():
            tail, end = text[end:end + 2], end + 2  # Kari's
        if not tail or entry.kind != "place" or tail.casefold() in _ENDING_SET or tail in _GENITIVE_MARKS:
            return end, entry.alias + tail
        # a compound (Tjømekontoret): the rest of the word may hold another name
        return end, f"{entry.alias}-{self.replace(tail)}"


_IN_ADDRESS = "@._"  # what joins a name into an e-mail address or a file name


def _written_as_name(text: str, start: int, end: int) -> bool:
    """Whether the word text[start:end] reads as a name: capitalised or in capitals, or
    joined into an e-mail address or a file name (per.vik@nav.no, per_intervju.txt)."""
    if text[start].isupper():
        return True
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if (before in _IN_ADDRESS and before and start > 1 and text[start - 2].isalnum()) or \
            (after in _IN_ADDRESS and after and end + 1 < len(text) and text[end + 1].isalnum()):
        return True
    token_start = start
    while token_start and not text[token_start - 1].isspace():
        token_start -= 1
    token_end = end
    while token_end < len(text) and not text[token_end].isspace():
        token_end += 1
    return "@" in text[token_start:token_end]


def informant_aliases(store: Store) -> dict[str, str]:
    """Informants in import order get Informant A, B, ... (stable across runs)."""
    rows = names_store.informants(store)
    aliases: dict[str, str] = {}
    for (informant,) in rows:
        if informant not in aliases:
            aliases[informant] = f"Informant {_letters(len(aliases))}"
    return aliases


def transcript_ids(store: Store) -> dict[str, str]:
    """Neutral ids in import order, T01, T02, ... (as wide as the count needs): a
    transcript's id is its file name, and file names carry names."""
    names = transcripts_store.names_in_import_order(store)
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

    def claim(name: str, alias: str, kind: str, part: bool = False) -> None:
        key = "".join(re.split(_SEPARATOR, name.casefold()))
        if len(key) >= 2 and key not in chosen:
            chosen[key] = Alias(name, alias, kind, part)

    people: list[tuple[str, str]] = []
    for name, alias, kind in names_store.listing(store):
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
            claim(" ".join(run), alias, "person", part=len(run) == 1)
    ids = transcript_ids(store)
    for transcript, neutral in ids.items():
        # identifier-like ids (hamar_1, kari-nordmann) also where they are written in text;
        # a one-word id ("intervju") may be an ordinary word and is replaced as a field only
        if len(transcript) >= 3 and re.search(r"[^\w]|[\d_]", transcript):
            chosen.setdefault("id:" + transcript.casefold(), Alias(nfc(transcript), neutral, "transcript"))
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


def apply_to_matrix(m, pseudonymiser: Pseudonymiser):
    """A matrix (coder/reports.py) with its row and column keys, labels and quotes pseudonymised."""
    hide = pseudonymiser.value  # a transcript id (--rows transcript) becomes its neutral id
    return replace(m, rows=tuple((hide(k), hide(l)) for k, l in m.rows),
                   cols=tuple((hide(k), hide(l)) for k, l in m.cols),
                   counts={(hide(r), hide(c)): n for (r, c), n in m.counts.items()},
                   # a cell's quotes (reports.CellQuotes) are pseudonymised as they are read, never all held
                   quotes={(hide(r), hide(c)): qs.map(pseudonymiser.quote) if hasattr(qs, "map")
                           else apply_to_quotes(qs, pseudonymiser) for (r, c), qs in m.quotes.items()})
