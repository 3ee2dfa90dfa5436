"""Word lists that survive obfuscation: leetspeak, spacing, masks and look-alike letters.

Why patterns per listed word rather than "normalising" the text to one spelling: a digit or a
symbol stands for different letters in different words ("1" is an i in "k1ll" and an l in
"a1cohol"), so the text is only folded where folding is unambiguous (Unicode compatibility
forms, accents, Cyrillic and Greek look-alikes, zero-width characters) and each listed word
becomes a pattern in which every letter also accepts its stand-ins, a mask character (``*``,
``#``) may replace any inner letter, and one separator may sit between letters ("s h i t",
"f.u.c.k"). Matches must start and end at word boundaries, so "class" never matches "ass".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

# Look-alike letters from other scripts that render (nearly) identically to Latin ones.
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
    "к": "k", "м": "m", "т": "t", "в": "b", "н": "h", "ԁ": "d", "ӏ": "l", "ɡ": "g",
    "α": "a", "ε": "e", "ο": "o", "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u", "χ": "x",
    "ß": "ss", "ø": "o", "ł": "l", "đ": "d",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
})
# What each letter may be written as, besides itself.
_STAND_INS = {
    "a": "4@^", "b": "8", "c": "(<", "e": "3€", "g": "96", "h": "#", "i": "1!|l", "l": "1|i", "o": "0",
    "s": "5$z", "t": "7+", "u": "v", "z": "2", "k": "x", "x": "k",
}
_MASK = "*#"
_SEPARATOR = r"[\s.\-_'*~,]?"


def fold(text: str) -> str:
    """Lower case, compatibility forms (fullwidth, mathematical letters), accents stripped,
    look-alike letters from other scripts mapped to Latin, invisible characters removed."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_HOMOGLYPHS)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _letter(char: str, inner: bool) -> str:
    options = re.escape(char) + "".join(re.escape(c) for c in _STAND_INS.get(char, ""))
    if inner:
        options += "".join(re.escape(c) for c in _MASK)
    return f"[{options}]" if len(options) > 1 else options


def word_pattern(phrase: str) -> str:
    """The regex source for one listed word or phrase (words of a phrase separated by any
    run of non-letters)."""
    words = fold(phrase).split()
    parts = []
    for word in words:
        letters = [_letter(c, 0 < i < len(word) - 1) if c.isalnum() else re.escape(c) for i, c in enumerate(word)]
        parts.append(_SEPARATOR.join(letters))
    return r"[\W_]+".join(parts)


@dataclass(frozen=True)
class WordHit:
    key: str  # the category or context
    word: str  # the listed word
    found: str  # as written in the text
    ambiguous: bool
    start: int
    end: int


class WordList:
    """Many keyed word lists compiled into one pattern per key (and strength)."""

    def __init__(self, entries: Iterable[tuple[str, str, bool]]):
        """``entries``: (key, word, ambiguous) triples."""
        self._patterns: list[tuple[str, bool, re.Pattern, list[str]]] = []
        grouped: dict[tuple[str, bool], list[str]] = {}
        for key, word, ambiguous in entries:
            if fold(word).strip():
                grouped.setdefault((key, ambiguous), []).append(word)
        for (key, ambiguous), words in grouped.items():
            # Longest first, so "crystal meth" wins over "meth" at the same place.
            words = sorted(set(words), key=len, reverse=True)
            alternatives = "|".join(f"({word_pattern(w)})" for w in words)
            pattern = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")
            self._patterns.append((key, ambiguous, pattern, words))

    def find(self, text: str) -> list[WordHit]:
        """Every listed word in ``text``. Offsets refer to the folded text, which has the same
        length as the input except where a folded character expanded or vanished."""
        folded = fold(text)
        hits = []
        for key, ambiguous, pattern, words in self._patterns:
            for match in pattern.finditer(folded):
                index = next(i for i, group in enumerate(match.groups()) if group is not None)
                hits.append(WordHit(key, words[index], match.group(0), ambiguous, match.start(), match.end()))
        return sorted(hits, key=lambda h: (h.start, h.key))
