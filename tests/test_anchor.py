"""Quote anchoring: finding a researcher's quote in a transcript despite small differences,
and returning exactly the span of the transcript it stands for."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings, strategies as st
from rapidfuzz.distance import Indel

from coder.anchor import Anchorer, QuoteAmbiguous, QuoteMatch, QuoteNotFound, find_quote, reanchor

TEXT = """\
Intervjuer: Hvordan er det å ha to sjefer?

Leder: Det er krevende. Jeg har to sjefer, rådmannen og fylkesdirektøren.
Klokka 10:30 hver mandag har vi møte med kommunalsjefen.

Intervjuer: Og partnerskapsmøtet?

Leder: Det fungerer godt 👍 for oss. Det er ærlig talt en utfordring å samordne alt.
Hun sa: «Vi har to sjefer.» Og det merkes i hverdagen.

Intervjuer: Hvordan er samarbeidet mellom stat og kommune?

Leder: Vi snakker sammen hver uke, og kommunikasjonen er bedre nå.
"""


def span(text: str, match: QuoteMatch) -> str:
    return text[match.start:match.end]


def find(quote: str, **options) -> str:
    return span(TEXT, find_quote(TEXT, quote, **options))


# -- examples ------------------------------------------------------------------------------

def test_exact_quote_after_an_emoji_counts_code_points():
    match = find_quote(TEXT, "for oss. Det er ærlig talt")
    assert TEXT[match.start - 2] == "👍"
    assert span(TEXT, match) == "for oss. Det er ærlig talt"
    assert match.score == 100.0


def test_case_whitespace_and_punctuation_differences():
    assert find("jeg har to  sjefer radmannen og\nfylkesdirektoren") == \
        "Jeg har to sjefer, rådmannen og fylkesdirektøren"
    match = find_quote(TEXT, "DET FUNGERER GODT FOR OSS")
    assert span(TEXT, match) == "Det fungerer godt 👍 for oss" and match.score == 100.0


def test_a_line_break_in_the_text_matches_a_space_in_the_quote_and_back():
    assert find("fylkesdirektøren. Klokka 10:30") == "fylkesdirektøren.\nKlokka 10:30"
    assert find("hver mandag har vi\nmøte med") == "hver mandag har vi møte med"


def test_ocr_letter_swaps():
    assert find("mote med kommunalsjefen") == "møte med kommunalsjefen"
    assert find("Hvordan er det a ha to") == "Hvordan er det å ha to"
    match = find_quote(TEXT, "Det er aerlig talt en utfordring")
    assert span(TEXT, match) == "Det er ærlig talt en utfordring" and match.score == 100.0


def test_a_dropped_or_doubled_letter():
    dropped = find_quote(TEXT, "kommunikasjonen er bere nå")
    assert span(TEXT, dropped) == "kommunikasjonen er bedre nå"
    assert 85 <= dropped.score < 100
    assert find("vi snakker sammmen hver uke") == "Vi snakker sammen hver uke"
    assert find("Vi snaker samen hver uke") == "Vi snakker sammen hver uke"


def test_several_small_edits_in_a_longer_quote():
    assert find("det fungerer got for os. Det er ærlig tallt en utfordrig å samordne") == \
        "Det fungerer godt 👍 for oss. Det er ærlig talt en utfordring å samordne"


def test_punctuation_at_the_ends_is_included_only_where_the_quote_has_it():
    assert find("«Vi har to sjefer.»") == "«Vi har to sjefer.»"
    assert find("vi har to sjefer") == "Vi har to sjefer"
    assert find('"vi har to sjefer."') == "«Vi har to sjefer.»"
    assert find("vi har to sjefer.") == "Vi har to sjefer."
    assert find("vi har to sjefer»") == "Vi har to sjefer.»"
    assert find("Hvordan er det å ha to sjefer") == "Hvordan er det å ha to sjefer"
    assert find("hvordan er det a ha to sjefer?") == "Hvordan er det å ha to sjefer?"


def test_a_quote_at_two_places_is_ambiguous():
    with pytest.raises(QuoteAmbiguous) as exact:
        find_quote(TEXT, "har to sjefer")
    assert len(exact.value.spans) == 2 and exact.value.score == 100.0
    assert all(TEXT[start:end] == "har to sjefer" for start, end in exact.value.spans)
    with pytest.raises(QuoteAmbiguous) as fuzzy:  # the same words, punctuated differently
        find_quote("Vi har to sjefer. Og så: vi, har to sjefer!", "vi har to sjefr")
    assert fuzzy.value.spans == [(0, 16), (25, 42)]


def test_an_unrelated_quote_is_not_found():
    with pytest.raises(QuoteNotFound) as error:
        find_quote(TEXT, "helt andre ord som ikke finnes her")
    assert error.value.best_score is None or error.value.best_score < 85


def test_the_threshold_decides_how_different_a_quote_may_be():
    quote = "Jeg har tre sjefer, rådmannen og fylkesdirektøren"
    assert find(quote, threshold=80) == "Jeg har to sjefer, rådmannen og fylkesdirektøren"
    with pytest.raises(QuoteNotFound) as error:
        find_quote(TEXT, quote, threshold=99)
    assert 80 <= error.value.best_score < 99


def test_a_quote_whose_words_point_nowhere_is_found_by_scanning():
    assert find("det a ha to") == "det å ha to"  # no word of 4+ letters
    assert find("ha to sjefr") == "ha to sjefer"  # the only long word is mangled


def test_within_restricts_the_search():
    first_turn = (0, TEXT.index("\n\n"))
    match = find_quote(TEXT, "to sjefer", within=first_turn)
    assert span(TEXT, match) == "to sjefer" and match.start == TEXT.index("to sjefer")
    second = TEXT.index("Leder: Det er krevende")
    assert find_quote(TEXT, "to sjefr", within=(second, second + 60)).start == TEXT.index("to sjefer", second)
    with pytest.raises(QuoteNotFound):
        find_quote(TEXT, "kommunikasjonen er bedre", within=first_turn)


@pytest.mark.parametrize("quote", ["", "   ", "\n", " «» ", "...", "—"])
def test_a_quote_without_words_is_refused(quote):
    with pytest.raises(ValueError):
        find_quote(TEXT, quote)


def test_offsets_stay_code_points_where_lower_case_is_longer():
    text = "İstanbul og İzmir. Vi har TO SJEFER der."  # "İ".lower() is two code points
    assert span(text, find_quote(text, "vi har to sjefer")) == "Vi har TO SJEFER"
    assert span(text, find_quote(text, "vi har to sjefr der")) == "Vi har TO SJEFER der"


def test_an_anchorer_is_reused_for_many_quotes():
    anchorer = Anchorer(TEXT)
    quotes = ["Jeg har to sjefer", "mote med kommunalsjefen", "vi har to sjefer", "kommunikasjonen er bere nå"]
    assert [span(TEXT, anchorer.find(q)) for q in quotes] == \
        ["Jeg har to sjefer", "møte med kommunalsjefen", "Vi har to sjefer", "kommunikasjonen er bedre nå"]
    assert anchorer.find(quotes[3]) == find_quote(TEXT, quotes[3])


# -- re-anchoring --------------------------------------------------------------------------

CODED = "Jeg har to sjefer, rådmannen og fylkesdirektøren."
OLD_START = TEXT.index(CODED)


def test_reanchor_after_text_was_inserted_before_the_span():
    inserted = "Intervjuer: Takk for at du stiller opp.\n\nLeder: Bare hyggelig.\n\n"
    new_text = inserted + TEXT
    match = reanchor(new_text, CODED, OLD_START, len(TEXT))
    assert match == QuoteMatch(OLD_START + len(inserted), OLD_START + len(inserted) + len(CODED), 100.0)


def test_reanchor_after_a_word_inside_the_span_was_edited():
    new_text = TEXT.replace("rådmannen og", "rådmannen samt")
    match = reanchor(new_text, CODED, OLD_START, len(TEXT))
    assert span(new_text, match) == "Jeg har to sjefer, rådmannen samt fylkesdirektøren."
    assert match.score < 100


def test_reanchor_finds_a_long_coded_turn_after_several_edits():
    rng = random.Random(7)
    turn = " ".join(rng.choice(WORDS) for _ in range(300)) + "."
    text = f"Intervjuer: Fortell.\n\nLeder: {turn}\n\nIntervjuer: Takk.\n"
    old_start = text.index(turn)
    edited = turn.replace("rådmannen", "rådmanen", 1).replace("kontoret", "kontorett", 1)
    edited = edited.replace("ledelse", "ledelsen", 1)
    new_text = "Intervjuer: Velkommen.\n\n" + text.replace(turn, edited)
    match = reanchor(new_text, turn, old_start, len(text))
    assert span(new_text, match) == edited and 95 < match.score < 100


def test_reanchor_returns_none_when_the_span_was_deleted():
    new_text = TEXT.replace(" " + CODED, "")
    assert reanchor(new_text, CODED, OLD_START, len(TEXT)) is None


def test_reanchor_picks_the_occurrence_nearest_the_old_place():
    text = "Ja, det stemmer. " * 10  # 17 characters, 10 times
    grown = "Innledning. " * 10 + text  # 120 more
    # the 7th of 10 was at 102, 60% in; 60% of the grown text is 174, nearest occurrence 171
    match = reanchor(grown, "Ja, det stemmer.", 102, len(text))
    assert match == QuoteMatch(171, 187, 100.0)
    # no exact occurrence: fuzzy, and each occurrence scores the same; 60% of 300 is 180
    edited = grown.replace("det", "dett")
    fuzzy = reanchor(edited, "Ja, det stemmer.", 102, len(text))
    assert fuzzy.start == 174 and span(edited, fuzzy) == "Ja, dett stemmer."


def test_reanchor_reuses_an_anchorer_for_the_new_text_only():
    new_text = "Ny innledning.\n\n" + TEXT
    anchorer = Anchorer(new_text)
    match = reanchor(new_text, CODED, OLD_START, len(TEXT), anchorer=anchorer)
    assert span(new_text, match) == CODED
    with pytest.raises(ValueError):
        reanchor(new_text, CODED, OLD_START, len(TEXT), anchorer=Anchorer(TEXT))


# -- properties ----------------------------------------------------------------------------

# Words that differ a lot after folding, so that one mangled letter never makes another
# place as good as the true one (checked in test_vocabulary_words_are_far_apart).
WORDS = ["jeg", "har", "to", "sjefer", "rådmannen", "fylkesdirektøren", "ærlig", "møte", "kontoret",
         "staten", "kommunen", "samarbeid", "utfordring", "vi", "snakker", "hver", "uke", "gjerne",
         "blå", "på", "tjenester", "økonomi", "ledelse", "brukere", "absolutt", "godt", "Tjøme", "Hamar",
         "NAV", "og", "en", "det", "ikke", "også", "hyggelig", "10:30"]
SYMBOLS = ["👍", "—"]
SEPARATORS = [" ", " ", " ", "\n", "\n\n"]
PUNCTUATION = ",.«»—:?!"


def reference_fold(text: str) -> str:
    """An independent, simple version of the folding the anchorer tolerates."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = re.sub(r"([a-z])\1+", r"\1", text)
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def test_vocabulary_words_are_far_apart():
    folded = [reference_fold(w) for w in WORDS]
    for i, a in enumerate(folded):
        for b in folded[i + 1:]:
            assert Indel.distance(a, b) >= (5 if min(len(a), len(b)) >= 5 else 2), (a, b)


@st.composite
def tokens(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(SYMBOLS))
    word = draw(st.sampled_from(WORDS))
    if draw(st.booleans()):
        word = word.capitalize()
    before = draw(st.sampled_from(["", "", "", "«", "("]))
    after = draw(st.sampled_from(["", "", "", ",", ".", "?", "»", ".»", ")"]))
    return before + word + after


@dataclass(frozen=True)
class Transcript:
    text: str
    starts: list[int]  # where each token starts
    tokens: list[str]

    def word_span(self, first: int, last: int) -> tuple[int, int]:
        """From the first letter of token `first` to after the last letter of token `last`."""
        head, tail = self.tokens[first], self.tokens[last]
        lead = next(i for i, c in enumerate(head) if c.isalnum())
        trail = next(i for i, c in enumerate(reversed(tail)) if c.isalnum())
        return self.starts[first] + lead, self.starts[last] + len(tail) - trail


@st.composite
def transcripts(draw, min_tokens: int = 20) -> Transcript:
    words = draw(st.lists(tokens(), min_size=min_tokens, max_size=120))
    text, starts = "", []
    for word in words:
        text += draw(st.sampled_from(SEPARATORS)) if text else ""
        starts.append(len(text))
        text += word
    return Transcript(text + "\n", starts, words)


@st.composite
def quoted(draw) -> tuple[Transcript, tuple[int, int]]:
    """A transcript and the span of 5-15 whole words in it, quoted once."""
    transcript = draw(transcripts())
    first = draw(st.integers(0, len(transcript.tokens) - 5))
    last = draw(st.integers(first + 4, min(first + 14, len(transcript.tokens) - 1)))
    assume(any(c.isalnum() for c in transcript.tokens[first]) and any(c.isalnum() for c in transcript.tokens[last]))
    start, end = transcript.word_span(first, last)
    assume(reference_fold(transcript.text).count(reference_fold(transcript.text[start:end])) == 1)
    return transcript, (start, end)


@st.composite
def perturbed(draw, quote: str) -> str:
    """The quote as a researcher might have typed it: any combination of changes."""
    if draw(st.booleans()):
        quote = draw(st.sampled_from([str.lower, str.upper, str.swapcase]))(quote)
    if draw(st.booleans()):
        pieces = quote.split()
        quote = pieces[0] + "".join(draw(st.sampled_from([" ", "\n", "  ", " \n"])) + p for p in pieces[1:])
    if draw(st.booleans()):  # punctuation inside; the quote starts and ends with letters
        quote = quote[0] + "".join(c for c in quote[1:-1] if c not in PUNCTUATION) + quote[-1]
    for letter, swaps in {"ø": "o", "Ø": "O", "å": "a", "Å": "A", "æ": "ae", "Æ": "AE"}.items():
        if draw(st.booleans()):
            quote = quote.replace(letter, swaps)
    long_words = list(re.finditer(r"[^\W\d_]{5,}", quote))
    if long_words and draw(st.booleans()):
        word = draw(st.sampled_from(long_words))
        at = draw(st.integers(word.start() + 1, word.end() - 2))  # not its first or last letter
        quote = quote[:at] + (quote[at] * 2 if draw(st.booleans()) else "") + quote[at + 1:]
    return quote


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_a_perturbed_quote_is_found_at_exactly_its_span(data):
    transcript, (start, end) = data.draw(quoted())
    quote = data.draw(perturbed(transcript.text[start:end]))
    match = Anchorer(transcript.text).find(quote)
    assert (match.start, match.end) == (start, end), (quote, transcript.text[match.start:match.end])
    assert 85 <= match.score <= 100


@pytest.mark.xfail(strict=True, reason="known, not fixed: the scan's chunks keep the text's punctuation and "
                   "line breaks while the quote's are dropped, so a short quote of few words scores under "
                   "the scan's cut-off (62 < 65) and no window is aligned")
def test_a_short_quote_among_emoji_with_its_dashes_dropped_and_a_letter_missing_is_found():
    """Found by the property test above (hypothesis, after the session's anchoring changes;
    the anchorer of 0bf0bf2 fails it too): kept here so that it is seen until fixed."""
    text = "\U0001F44D jeg \U0001F44D \U0001F44D \U0001F44D\n\u2014\n\u2014\n\nr\u00e5dmannen \U0001F44D"
    match = Anchorer(text).find("jeg \U0001F44D \U0001F44D \U0001F44D\n\n\n\nrdmannen")
    assert (match.start, match.end) == (2, 26)


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_reanchor_finds_the_span_after_text_was_inserted_elsewhere(data):
    transcript, (start, end) = data.draw(quoted())
    coded = transcript.text[start:end]
    inserted = data.draw(transcripts(min_tokens=1)).text
    token = data.draw(st.integers(0, len(transcript.tokens)))
    at = transcript.starts[token] if token < len(transcript.tokens) else len(transcript.text)
    assume(not start < at < end)
    new_text = transcript.text[:at] + inserted + transcript.text[at:]
    assume(new_text.count(coded) == 1)
    shift = len(inserted) if at <= start else 0
    match = reanchor(new_text, coded, start, len(transcript.text))
    assert match == QuoteMatch(start + shift, end + shift, 100.0)


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_reanchor_finds_an_edited_span(data):
    transcript, (start, end) = data.draw(quoted())
    coded = transcript.text[start:end]
    long_words = list(re.finditer(r"[^\W\d_]{5,}", coded))
    assume(long_words)
    word = data.draw(st.sampled_from(long_words))
    at = start + data.draw(st.integers(word.start() + 1, word.end() - 2))
    new_text = transcript.text[:at] + "x" + transcript.text[at:]  # a typo fixed, say
    # the coded text still found word for word elsewhere is a better match than the edited span
    assume(coded not in new_text)
    match = reanchor(new_text, coded, start, len(transcript.text))
    assert (match.start, match.end) == (start, end + 1)
    assert 85 <= match.score <= 100


def test_a_quote_that_drops_a_letter_of_its_last_word_is_the_whole_word():
    """'absolut' typed for 'absolutt' is found as the word, not as its first seven letters
    (an exact match inside a word is no match)."""
    text = "👍 jeg sjefer.» utfordring, godt, «absolutt 👍\n"
    match = Anchorer(text).find("jeg sjefer.» utfordring, godt, «absolut")
    assert text[match.start:match.end] == "jeg sjefer.» utfordring, godt, «absolutt"
    assert 85 <= match.score <= 100


@settings(deadline=None, max_examples=300)
@given(st.text(alphabet="aAbBøØæÆåÅ 1100²..,«»–é\u0301ßİ_\n", max_size=40), st.data())
def test_fold_of_a_window_is_the_fold_character_by_character(text, data):
    """_fold takes a window one translate and one regex (runs of a letter) at a time; it gives
    what folding it a character at a time gives: the same folded text and the same span of
    the text behind each folded character (digits never merge, æ -> ae)."""
    from coder import anchor

    lo = data.draw(st.integers(0, len(text)))
    hi = data.draw(st.integers(lo, len(text)))
    assert anchor._fold(text, lo, hi) == anchor._fold_each(text, lo, hi)


@settings(deadline=None, max_examples=200)
@given(st.text(alphabet="ab_1 .\n«é\u0301", max_size=30), st.text(alphabet="ab_1é", min_size=1, max_size=6))
def test_words_looked_up_when_asked_are_where_an_index_of_every_word_has_them(text, word):
    """The anchorer looks a quote's words up when it needs them (whole words of 4+ word
    characters in the seed fold); they are where indexing every word of the text puts them."""
    anchorer = Anchorer(text)
    index: dict[str, list[int]] = {}
    for m in re.finditer(r"\w{4,}", anchorer._seeds):
        index.setdefault(m.group(), []).append(m.start())
    for looked_up in [*index, word]:
        assert anchorer._starts(looked_up) == index.get(looked_up, [])
