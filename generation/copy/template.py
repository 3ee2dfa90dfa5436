"""The offline copy writer: deterministic templates filled from the brief and the image's facts.

It is the default when no language-model endpoint is configured, so a brief always gets copy a
reviewer can judge. Three angles, one per variant, so the three never say the same thing:

- ``place``: what the picture shows, named (its top visible label or the must-show element);
- ``mood``: the brief's tone and the picture's dominant colour;
- ``offer``: the first selling point, for the brief's audience, tied to an element in view.

Each angle has phrasings from longest to shortest; the first that fits the limits is used, and
only when none fits is the text cut at a word boundary (flagged). Templates exist for
:data:`~generation.copy.lexicon.LANGUAGES` (en, de, fr, es); a brief in another language gets
English copy flagged ``language-fallback`` for the reviewer, never silent English. Element and
colour names are translated through :mod:`generation.copy.lexicon`; an ImageNet label without a
translation is avoided when another visible element has one, else used in English and flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generation.copy.facts import ImageFacts
from generation.copy.lexicon import LANGUAGES, translate
from generation.copy.variant import CopyVariant
from generation.copy.writer import CopyWriterOptions, base_language
from generation.limits import CopyLimits, check, limits_for_formats

if TYPE_CHECKING:
    from generation.briefs import Brief

# Per language and angle: (headlines, bodies, ctas), longest first. Slots: {subject},
# {element} / {Element}, {colour} / {Colour}, {point}, {audience}, {tone}. Phrasings avoid
# articles and adjective endings so one noun fits every sentence.
PHRASES: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    "en": {
        "place": (("{subject}: {element} in {colour}", "{subject}: {element}", "{Element}"),
                  ("{Element} in {colour}, right here in {subject}. {point}.",
                   "{Element} in {colour}, right here in {subject}.", "{Element}, right here in {subject}."),
                  ("Discover {subject}", "Discover more")),
        "mood": (("Feel {subject}, {tone}", "Feel {subject}"),
                 ("Shades of {colour}, {element} and a {tone} mood: that is {subject}.",
                  "Shades of {colour} and {element}: that is {subject}.", "{Colour} and {element}: {subject}."),
                 ("Find your moment", "See more")),
        "offer": (("{subject}: {point}", "{point}", "{subject}"),
                  ("For {audience}: {point}, with {element} in view.", "{point}, with {element} in view.",
                   "{Element} in view: {subject}."),
                  ("Book now", "Book")),
    },
    "de": {
        "place": (("{subject}: {Element} in {Colour}", "{subject}: {Element}", "{Element}"),
                  ("{Element} in {Colour}, mitten in {subject}. {point}.",
                   "{Element} in {Colour}, mitten in {subject}.", "{Element}, mitten in {subject}."),
                  ("{subject} entdecken", "Mehr entdecken")),
        "mood": (("{subject} erleben: {tone}", "{subject} erleben"),
                 ("Töne in {Colour}, {Element}, Stimmung {tone}: Das ist {subject}.",
                  "Töne in {Colour} und {Element}: Das ist {subject}.", "{Colour} und {Element}: {subject}."),
                 ("Jetzt eintauchen", "Mehr sehen")),
        "offer": (("{subject}: {point}", "{point}", "{subject}"),
                  ("Für {audience}: {point}, mit {Element} im Blick.", "{point}, mit {Element} im Blick.",
                   "{Element} im Blick: {subject}."),
                  ("Jetzt buchen", "Buchen")),
    },
    "fr": {
        "place": (("{subject} : {element} en {colour}", "{subject} : {element}", "{Element}"),
                  ("{Element} en {colour}, au cœur de {subject}. {point}.",
                   "{Element} en {colour}, au cœur de {subject}.", "{Element}, au cœur de {subject}."),
                  ("Découvrir {subject}", "En savoir plus")),
        "mood": (("Vivre {subject}, {tone}", "Vivre {subject}"),
                 ("Nuances de {colour} et {element}, ambiance {tone} : c'est {subject}.",
                  "Nuances de {colour} et {element} : c'est {subject}.", "{Colour} et {element} : {subject}."),
                 ("Laissez-vous tenter", "Voir plus")),
        "offer": (("{subject} : {point}", "{point}", "{subject}"),
                  ("Pour {audience} : {point}, avec {element} en vue.", "{point}, avec {element} en vue.",
                   "{Element} en vue : {subject}."),
                  ("Réserver maintenant", "Réserver")),
    },
    "es": {
        "place": (("{subject}: {element} en {colour}", "{subject}: {element}", "{Element}"),
                  ("{Element} en {colour}, en pleno {subject}. {point}.",
                   "{Element} en {colour}, en pleno {subject}.", "{Element}, en pleno {subject}."),
                  ("Descubre {subject}", "Descubre más")),
        "mood": (("Siente {subject}, {tone}", "Siente {subject}"),
                 ("Tonos de {colour} y {element}, ambiente {tone}: así es {subject}.",
                  "Tonos de {colour} y {element}: así es {subject}.", "{Colour} y {element}: {subject}."),
                 ("Vive el momento", "Ver más")),
        "offer": (("{subject}: {point}", "{point}", "{subject}"),
                  ("Para {audience}: {point}, con {element} a la vista.", "{point}, con {element} a la vista.",
                   "{Element} a la vista: {subject}."),
                  ("Reserva ya", "Reservar")),
    },
}

ANGLES = ("place", "mood", "offer")

# Used when a brief leaves the slot empty, so no sentence has a hole.
DEFAULT_TONE = {"en": "relaxed", "de": "entspannt", "fr": "détendue", "es": "relajado"}
DEFAULT_AUDIENCE = {"en": "you", "de": "Sie", "fr": "vous", "es": "ti"}
NEUTRAL_COLOUR = {"en": "light", "de": "Licht", "fr": "lumière", "es": "luz"}


@dataclass(frozen=True)
class _Element:
    key: str  # English, what grounding scores
    word: str  # in the copy's language
    translated: bool


class TemplateWriter:
    name = "template"
    model = "templates-v1"

    def write(self, brief: "Brief", facts: ImageFacts, n: int = 3,
              limits: CopyLimits | None = None) -> list[CopyVariant]:
        limits = limits or limits_for_formats(brief.formats)
        asked = base_language(brief.language)
        language = asked if asked in LANGUAGES else "en"
        common_flags = []
        if language != asked:
            common_flags.append(f"language-fallback: no templates for {brief.language!r}, written in English; "
                                "translate before use")
        elements = _elements(brief, facts, language)
        colour = _colour(facts, language)
        variants = []
        for i in range(n):
            angle = ANGLES[i % len(ANGLES)]
            # Later rounds (n > 3) move on to the next element so repeats still differ.
            element = elements[(i // len(ANGLES) + (1 if angle == "mood" and len(elements) > 1 else 0))
                               % len(elements)] if elements else None
            variants.append(self._variant(brief, language, angle, element, colour, limits, common_flags))
        return variants

    def _variant(self, brief: "Brief", language: str, angle: str, element: _Element | None,
                 colour: _Element | None, limits: CopyLimits, common_flags: list[str]) -> CopyVariant:
        headlines, bodies, ctas = PHRASES[language][angle]
        point = (brief.selling_points[0] if brief.selling_points else brief.subject).strip().rstrip(".")
        element_word = element.word if element else (colour.word if colour else brief.subject)
        colour_word = colour.word if colour else NEUTRAL_COLOUR[language]
        slots = {
            "subject": brief.subject.strip(), "point": point, "tone": brief.tone.strip() or DEFAULT_TONE[language],
            "audience": brief.audience.strip() or DEFAULT_AUDIENCE[language],
            "element": element_word, "Element": _capitalised(element_word),
            "colour": colour_word, "Colour": _capitalised(colour_word),
        }
        shortened: list[str] = []
        headline = _fit(headlines, slots, limits.headline, "headline", shortened)
        body = _fit(bodies, slots, limits.body, "body", shortened)
        cta = _fit(ctas, slots, limits.cta, "cta", shortened)
        text = f"{headline} {body}"
        references = [e.key for e in (element, colour)
                      if e is not None and re.search(rf"\b{re.escape(e.word)}\b", text, re.IGNORECASE)]
        flags = list(common_flags)
        flags += [f"shortened: no {field} phrasing fits; cut at a word boundary" for field in shortened]
        if element is not None and not element.translated and element.key in references:
            flags.append(f"untranslated: {element.key!r} has no {language} translation")
        variant = CopyVariant(headline=headline, body=body, cta=cta, references=references, language=language,
                              writer=self.name, model=self.model, angle=angle, flags=flags)
        return variant.flagged(*check(variant, limits))


def _elements(brief: "Brief", facts: ImageFacts, language: str) -> list[_Element]:
    """Visible labels to write about: must-show ones first, must-avoid ones never, translated
    ones before untranslated ones."""
    avoid = {a.strip().lower() for a in brief.must_avoid}
    must = {m.strip().lower() for m in brief.must_show}
    names = [label.name for label in facts.labels if label.name.lower() not in avoid]
    names.sort(key=lambda name: (name.lower() not in must, translate(name, language) is None))
    elements: list[_Element] = []
    for name in names:
        if elements and set(name.lower().split()) & set(elements[0].key.lower().split()):
            continue  # "espresso maker" after "espresso" says nothing new
        word = translate(name, language)
        elements.append(_Element(name, word or name, word is not None))
    return elements


def _colour(facts: ImageFacts, language: str) -> _Element | None:
    if not facts.colours:
        return None
    name = facts.colours[0].name
    return _Element(name, translate(name, language) or name, True)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fit(phrasings: tuple[str, ...], slots: dict[str, str], limit: int, field: str, shortened: list[str]) -> str:
    for phrasing in phrasings:
        text = _capitalised(phrasing.format(**slots).strip())
        if len(text) <= limit:
            return text
    shortened.append(field)
    text = _capitalised(phrasings[-1].format(**slots).strip())
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") if " " in text[: limit - 1] else text[: limit - 1]
    return cut + "…"


def load(options: CopyWriterOptions) -> TemplateWriter:
    return TemplateWriter()
