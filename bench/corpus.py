"""A deterministic synthetic corpus for the benchmark: transcripts, a codebook, codings.

Transcript i depends only on the seed and i, so the corpus of a smaller size is the first
n transcripts of the larger one (and each size's codings are the rows of those transcripts).
"""
from __future__ import annotations

import csv
import itertools
import random
import re
from dataclasses import dataclass
from pathlib import Path

OFFICES = ("Tjøme", "Trøgstad", "Hamar", "Lier", "Asker")
ROLES = ("NAV-leder", "veileder", "rådmann", "fylkesdirektør", "avdelingsleder kommune", "saksbehandler")
CODERS = ("anna", "bjørn")
FIRST_NAMES = ("Kari", "Ola", "Per", "Åse", "Bjørg", "Ærling", "Søren", "Marit", "Tore", "Øystein", "Liv", "Håkon",
               "Ingrid", "Gro", "Jørn", "Siv", "Nils", "Ragnhild", "Torbjørn", "Solveig")
LAST_NAMES = ("Solberg", "Hovland", "Bjørklund", "Moen", "Lunde", "Dæhli", "Haugen", "Østby", "Nærø", "Kvåle",
              "Berg", "Strøm", "Aasen", "Løvås", "Myhre", "Fjære", "Sæther", "Nordmann", "Bråten", "Rønning")

# A few real words, then syllable-built ones: enough variety for realistic word frequencies.
REAL_WORDS = """og i det er som på en at til å har med for ikke den vi jeg de av om så men kan
skal må var vil ble bli hadde etter også seg mot ved når der meg oss dere hun han hva hvem hvordan
hvorfor kommune kommunen stat staten kontor kontoret leder lederen sjef sjefer sjefen rådmann rådmannen
fylket direktoratet partnerskap partnerskapet møte møtet møtene avtale avtalen samarbeid samarbeidet
brukere brukerne ansatte veiledere styring styringen mål målene krav kravene linje linjene budsjett
hverdagen hverdag praksis ærlig talt utfordring utfordringen likeverdige parter kultur kulturen
tjenester tjenestene sosialtjenesten trygdekontoret arbeidskontoret indikatorer prosent antall rapportering
rutiner arkiv telefon dialog tillit kommunikasjon relasjoner fullmakter instruksjon myndighet ansvar
økonomi økonomisk søknader vedtak saker saksbehandling oppfølging tiltak arbeid jobb år uke dag måned
første siste nye gamle store små gode bedre beste vanskelig krevende spennende åpen åpningen tidlig
mye lite mange få alle noen ingen både enten eller hver hele halve først senere nå da her hjemme
føler mener tror vet ser sier gjør får tar går kommer står ligger synes ønsker trenger prøver
forskjell forskjellen ulike ulik samme felles sammen alene selv egen egne våre deres sine mitt min""".split()

_ONSETS = ("b", "br", "d", "f", "fj", "fl", "g", "gr", "h", "hj", "k", "kl", "kr", "kv", "l", "m", "n", "p",
           "r", "s", "sk", "sl", "sn", "sp", "st", "sv", "t", "tr", "v", "")
_VOWELS = ("a", "e", "i", "o", "u", "y", "æ", "ø", "å", "a", "e", "o", "ei", "øy")
_CODAS = ("", "", "n", "nd", "ng", "r", "rt", "s", "st", "t", "kk", "ll", "l", "k", "g")
_ENDINGS = ("", "", "", "en", "et", "ene", "er", "ing", "lig", "het", "else", "te")


@dataclass(frozen=True)
class Spec:
    transcripts: int = 1000
    turns: int = 200
    seed: int = 20070301


def _vocabulary(seed: int, size: int = 4000) -> list[str]:
    rng = random.Random(seed)
    words, seen = list(REAL_WORDS), set(REAL_WORDS)
    while len(words) < size:
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                       for _ in range(rng.choice((1, 1, 2)))) + rng.choice(_ENDINGS)
        if len(word) >= 2 and word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Generator:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.words = _vocabulary(spec.seed)
        # Zipf-like: the 1000th word is a thousand times rarer than the first
        self.cum_weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(self.words))))

    def _sentence(self, rng: random.Random) -> str:
        n = rng.randint(4, 16)
        words = rng.choices(self.words, cum_weights=self.cum_weights, k=n)
        words[0] = words[0].capitalize()
        if n > 8 and rng.random() < 0.4:
            words[n // 2] += ","
        return " ".join(words) + rng.choice(".....?!")

    def _turn(self, rng: random.Random, interviewer: bool) -> str:
        sentences = rng.randint(1, 2) if interviewer else rng.randint(2, 6)
        return " ".join(self._sentence(rng) for _ in range(sentences))

    def transcript(self, index: int) -> tuple[str, str, list[str]]:
        """(name, file text, turn texts in order: turn k is segment k)."""
        rng = random.Random(self.spec.seed * 1_000_003 + index)
        office = OFFICES[index % len(OFFICES)]
        informant = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        role = rng.choice(ROLES)
        date = f"2007-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}"
        label = rng.choice(("Leder", "Informant", "Rådmann", "Veileder"))
        turns = [self._turn(rng, k % 2 == 0) for k in range(self.spec.turns)]
        head = (f"---\ncase: {office}\ninformant: {informant}\nrole: {role}\ndate: {date}\n"
                f"interviewer: Intervjuer {'AB'[index % 2]}\n---\n")
        body = "\n\n".join(f"{'Intervjuer' if k % 2 == 0 else label}: {t}" for k, t in enumerate(turns))
        name = f"{_slug(office)}_{index + 1:05d}"
        return name, head + body + "\n", turns

    def codings(self, index: int, name: str, turns: list[str], codes: list[str]) -> list[dict]:
        """~25% of turns coded with 1-2 codes; a third of those also by a second coder; a
        quarter of all rows by quote (half exact, half perturbed)."""
        rng = random.Random(self.spec.seed * 7_000_003 + index)
        rows = []
        for number, turn in enumerate(turns, start=1):
            if rng.random() >= 0.25:
                continue
            chosen = rng.sample(codes, rng.choice((1, 2)))
            coders = list(CODERS) if rng.random() < 1 / 3 else [rng.choice(CODERS)]
            for code in chosen:
                for coder in coders:
                    row = {"transcript": name, "code": code, "segment": str(number), "quote": "", "coder": coder,
                           "memo": "Tydelig eksempel; jf. rådmannens syn." if rng.random() < 0.03 else ""}
                    if rng.random() < 0.25:
                        quote = _quote(rng, turn)
                        if quote:
                            row["segment"], row["quote"] = "", quote
                    rows.append(row)
        return rows


def _slug(office: str) -> str:
    return office.lower().replace("ø", "o").replace("æ", "ae").replace("å", "a")


def _quote(rng: random.Random, turn: str) -> str | None:
    """8-20 consecutive words of the turn, exact or with one OCR-style slip."""
    words = turn.split(" ")
    if len(words) < 10:
        return None
    length = rng.randint(8, min(20, len(words)))
    first = rng.randint(0, len(words) - length)
    quote = " ".join(words[first:first + length])
    kind = rng.random()
    if kind < 0.5:
        return quote
    if kind < 0.7 and ("ø" in quote or "æ" in quote or "å" in quote):
        return quote.replace("ø", "o").replace("æ", "ae").replace("å", "a")
    if kind < 0.85:
        long_words = [i for i, w in enumerate(quote.split(" ")) if len(w.strip(",.?!")) >= 6]
        if long_words:
            parts = quote.split(" ")
            i = rng.choice(long_words)
            cut = rng.randint(1, len(parts[i].strip(",.?!")) - 2)
            parts[i] = parts[i][:cut] + parts[i][cut + 1:]
            return " ".join(parts)
    return quote.lower() if rng.random() < 0.5 else quote.upper()


CODEBOOK = """\
name: Benchmark codebook
version: "1"
dimensions:
  - id: vertical
    label: {nb: Vertikal dimensjon, en: Vertical dimension}
    codes:
      - id: two_bosses
        label: {nb: Med to sjefer, en: Two bosses}
        keywords: [to sjefer, sjef]
        codes:
          - id: state_boss
            label: Statlig sjef
          - id: municipal_boss
            label: Kommunal sjef
      - id: line_steering
        label: Styring i linjene
        keywords: [styring, linje]
      - id: partnership_meeting
        label: Partnerskapsmøtet
        keywords: [partnerskap, møte]
      - id: cooperation_agreement
        label: Samarbeidsavtalen
        keywords: [samarbeid, avtale]
      - id: indicators
        label: Indikatorer og mål
        keywords: [indikator, prosent, rapportering]
  - id: horizontal
    label: Horisontal dimensjon
    codes:
      - id: relations
        label: Relasjoner
        codes:
          - id: communication
            label: Kommunikasjon
            keywords: [kommunikasjon, dialog, telefon]
          - id: equality
            label: Likeverd
            keywords: [likeverdige parter]
          - id: trust
            label: Tillit
            keywords: [tillit]
      - id: co_location
        label: Samlokalisering
      - id: shared_culture
        label: Felles kultur
        keywords: [kultur]
      - id: conflicts
        label: Konflikter
      - id: joint_services
        label: Felles tjenester
        keywords: [tjenest, sosialtjenesten]
  - id: leadership
    label: Ledelse
    codes:
      - id: admin_steals_time
        label: Administrasjon stjeler tid
        keywords: [rapportering, arkiv, rutiner]
      - id: strategy
        label: Strategi
        codes:
          - id: long_term
            label: Langsiktig
          - id: short_term
            label: Kortsiktig
      - id: operations
        label: Drift
      - id: staff
        label: Personale
        keywords: [ansatte, veiledere]
      - id: economy
        label: Økonomi
        keywords: [økonomi, budsjett]
"""


def code_paths() -> list[str]:
    """Every code path of CODEBOOK (sub-codes included), read back from the YAML's shape."""
    import yaml

    paths = []

    def walk(prefix: str, codes: list) -> None:
        for code in codes:
            path = f"{prefix}.{code['id']}"
            paths.append(path)
            walk(path, code.get("codes", []))

    for dim in yaml.safe_load(CODEBOOK)["dimensions"]:
        walk(dim["id"], dim["codes"])
    return paths


def write_manuscript(path: Path, spec: Spec, transcripts: int, *, quotes: int = 120, words: int = 20_000) -> Path:
    """A 50-page manuscript (about 20,000 words of prose) quoting the first `transcripts`
    transcripts, as `coder verify` reads one: most quotes exact and attributed, some retyped,
    OCR-slipped, trimmed with [...], spliced from two turns, misattributed or invented."""
    generator = Generator(spec)
    rng = random.Random(spec.seed * 11 + transcripts)
    prose_per_quote = words // quotes
    paragraphs = ["# Kapittel 5: Partnerskapet i praksis"]
    for _ in range(quotes):
        index = rng.randrange(transcripts)
        _, text, turns = generator.transcript(index)
        office, role = (re.search(rf"^{key}: (.*)$", text, re.MULTILINE).group(1) for key in ("case", "role"))
        spoken = [t for k, t in enumerate(turns) if k % 2 and len(t.split()) >= 12]
        if not spoken:
            continue
        turn = rng.choice(spoken).split()
        length = rng.randint(8, min(24, len(turn)))
        first = rng.randrange(len(turn) - length + 1)
        quote = " ".join(turn[first:first + length])
        kind = rng.random()
        if kind < 0.08:
            quote = quote.lower()
        elif kind < 0.14:
            i = max(range(length), key=lambda k: len(turn[first + k]))
            slipped = turn[first:first + length]
            slipped[i] = slipped[i][:2] + slipped[i][3:]
            quote = " ".join(slipped)
        elif kind < 0.18 and length >= 16:
            quote = " ".join(turn[first:first + 6]) + " [...] " + " ".join(turn[first + 9:first + length])
        elif kind < 0.21:
            other = rng.choice(spoken).split()
            quote = quote + " " + " ".join(other[:8])
        elif kind < 0.24:
            quote = " ".join(generator._sentence(rng) for _ in range(2))
        if rng.random() < 0.05:
            office = OFFICES[(OFFICES.index(office) + 1) % len(OFFICES)] if office in OFFICES else office
        prose = " ".join(generator._sentence(rng) for _ in range(max(1, prose_per_quote // 10)))
        if rng.random() < 0.15:
            paragraphs += [prose, f"> {quote}\n>\n> — {role}, {office}"]
        else:
            paragraphs.append(f"{prose} Som en informant sa det: «{quote}» ({role}, {office}).")
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def write_corpus(root: Path, spec: Spec, sizes: list[int]) -> dict:
    """Write the largest corpus once; each size gets a folder of hard links to its first n
    files and its own codings CSVs. Returns {n: {"folder", "segment_csv", "quote_csv", ...}}."""
    largest = max(sizes)
    generator = Generator(spec)
    codes = code_paths()
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    (root / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    rows_by_transcript = []
    names = []
    for index in range(largest):
        name, text, turns = generator.transcript(index)
        path = files / f"{name}.txt"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        names.append(name)
        rows_by_transcript.append(generator.codings(index, name, turns, codes))
    out = {}
    for n in sizes:
        folder = root / f"n{n}" / "transcripts"
        folder.mkdir(parents=True, exist_ok=True)
        wanted = {f"{name}.txt" for name in names[:n]}
        for stale in folder.iterdir():
            if stale.name not in wanted:
                stale.unlink()
        for name in names[:n]:
            link = folder / f"{name}.txt"
            if not link.exists():
                link.hardlink_to(files / f"{name}.txt")
        rows = [r for per in rows_by_transcript[:n] for r in per]
        by_segment = [r for r in rows if not r["quote"]]
        by_quote = [r for r in rows if r["quote"]]
        paths = {}
        for kind, subset in (("segment", by_segment), ("quote", by_quote)):
            path = root / f"n{n}" / f"codings_by_{kind}.csv"
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=["transcript", "code", "segment", "quote", "coder", "memo"])
                writer.writeheader()
                writer.writerows(subset)
            paths[kind] = path
        manuscript = write_manuscript(root / f"n{n}" / "manuscript.md", spec, n)
        out[n] = {"folder": folder, "segment_csv": paths["segment"], "quote_csv": paths["quote"],
                  "manuscript": manuscript,
                  "segment_rows": len(by_segment), "quote_rows": len(by_quote), "transcripts": n,
                  "segments": n * spec.turns}
    return out


def main() -> None:
    """Run as its own process by bench/run.py, so the benchmark's process stays small (a
    child's peak RSS counts the size of the process it was spawned from)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Write the benchmark corpus.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--transcripts", type=int, default=Spec.transcripts)
    parser.add_argument("--turns", type=int, default=Spec.turns)
    parser.add_argument("--seed", type=int, default=Spec.seed)
    parser.add_argument("--counts", required=True, help="Comma-separated numbers of transcripts, one per size.")
    args = parser.parse_args()
    spec = Spec(transcripts=args.transcripts, turns=args.turns, seed=args.seed)
    out = write_corpus(args.root, spec, [int(n) for n in args.counts.split(",")])
    print(json.dumps({n: {k: str(v) if isinstance(v, Path) else v for k, v in d.items()} for n, d in out.items()}))


if __name__ == "__main__":
    main()
