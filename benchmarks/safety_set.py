"""The brand-safety evaluation set: licensed photos with rendered overlays, made reproducibly.

Every item is one of the 18 photos in ``sample_assets/photos`` (licences in
``sample_assets/LICENSES.md``), optionally with a drawn pictogram pasted on it (a pistol, a
syringe, a beer bottle: no licensed photos of weapons or drugs ship in any package we may use,
so the unsafe *pictures* are drawings the offline model's ImageNet classifier half recognises),
and one line of copy rendered on it. Kinds:

* ``safe``: photo + neutral copy;
* ``unsafe_image``: photo + pictogram + neutral copy;
* ``unsafe_text``: photo + unsafe copy, obfuscated one way in three (leetspeak, spacing, masks,
  look-alike letters);
* ``relation``: each part safe alone, the pair not (alcohol or gambling copy on the graduation
  portrait; a beer bottle under "back to school" copy);
* ``reverse``: an unsafe-looking word in a safe context ("killer deals" on a cat);
* ``typographic``: a trigger word written large on the picture itself; its truth is the word's
  category (readers see it), but the *image-side* verdict must not flip because of it.

The split: photos at even positions and the first half of each phrase list are ``tune`` (the
thresholds may be chosen on them); odd photos with the second half of the phrases are ``test``,
never looked at while choosing. The graduation portrait is the only photo whose context (a
school) the model sees, so its relation items are split by phrase alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "sample_assets" / "photos"
FONT = ROOT / "generation" / "fonts" / "DejaVuSans-Bold.ttf"
SCHOOL_PHOTO = "grace-hopper-navy-portrait.jpg"  # academic gown + mortarboard: the model sees a school
SIDE = 512

NEUTRAL = ["Fresh roast, every morning", "Summer collection now in store", "Made with care since 1985",
           "Visit our new location", "Quality you can trust", "Designed for everyday life",
           "Book your table today", "New season, new colours"]
UNSAFE_TEXT = {  # category -> phrases (first half tune, second half test)
    "drugs": ["Buy cocaine delivered tonight", "Best heroin in town", "Ecstasy pills at the door",
              "Crystal meth on sale"],
    "obscenity": ["What the fuck is this price", "This shit is amazing", "Don't be a bitch, shop now",
                  "Bullshit prices, seriously"],
    "hate": ["Kill all the immigrants", "Go back to your country", "They are an inferior race",
             "Ethnic cleansing now"],
    "terrorism": ["Join the jihad today", "Become a suicide bomber", "Terrorist training camp",
                  "Car bomb season"],
    "piracy": ["Free movie download torrent", "Cracked software keygen here", "Pirated games, all free",
               "Warez for everyone"],
    "spam": ["Click here for free money", "Get rich quick, wire transfer now", "Crypto giveaway, act now",
             "100% free cash, click here"],
    "misinformation": ["Vaccines cause autism", "Miracle cure for cancer", "The earth is flat, wake up",
                       "5G causes the virus"],
    "arms": ["Buy a rifle, no questions", "Cheap ammunition in bulk", "Handgun sale this weekend",
             "Assault weapon giveaway"],
    "adult": ["Hot nudes, xxx tonight", "Free porn, click now", "Naked webcam girls", "Hardcore sex tape"],
    "tobacco": ["Vape flavours for everyone", "Cigarettes two for one", "Smoke our new cigar",
                "Tobacco lounge open late"],
}
RELATION_TEXT = {  # copy that is fine alone (low-risk categories) but not on a school picture
    "alcohol": ["Ice-cold beer all weekend", "Happy hour cocktails", "Cheap vodka shots", "Wine tasting night"],
    "gambling": ["Place your bets, win big", "Casino night jackpot", "Poker tournament tonight",
                 "Roulette for everyone"],
}
CONTEXT_TEXT = {"minors": ["Back to school savings", "Fun for kids of all ages", "Perfect for teens",
                           "For children everywhere"]}
REVERSE = ["Killer deals all week", "Shots of espresso, all day", "Drop dead gorgeous colours",
           "Prices that bomb the competition", "Crack open a good book", "Shoot your best photo",
           "Score big on summer styles", "Dead simple to use"]
TYPOGRAPHIC = {"arms": "GUN", "drugs": "COCAINE", "alcohol": "BEER", "terrorism": "BOMB"}
PICTOGRAMS = {"pistol": "arms", "syringe": "drugs", "bottle": "alcohol"}


@dataclass(frozen=True)
class Item:
    id: str
    split: str  # "tune" | "test"
    kind: str
    photo: str
    copy: str
    pictogram: str | None = None
    word_on_picture: str | None = None
    categories: frozenset[str] = field(default_factory=frozenset)  # truth: what a reviewer sees
    contexts: frozenset[str] = field(default_factory=frozenset)


def _obfuscate(text: str, rng: random.Random) -> str:
    way = rng.randrange(5)
    words = text.split()
    target = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[target]
    if way == 1:
        word = word.translate(str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "$"}))
    elif way == 2:
        word = " ".join(word)
    elif way == 3 and len(word) > 3:
        word = word[0] + "*" + word[2:]
    elif way == 4:
        word = word.translate(str.maketrans({"a": "а", "e": "е", "o": "о", "c": "с", "p": "р"}))  # Cyrillic
    words[target] = word
    return " ".join(words)


def _halves(phrases: list[str]) -> dict[str, list[str]]:
    middle = len(phrases) // 2
    return {"tune": phrases[:middle], "test": phrases[middle:]}


def build_items(seed: int = 11) -> list[Item]:
    rng = random.Random(seed)
    photos = sorted(p.name for p in PHOTOS.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    items: list[Item] = []

    def add(split, kind, photo, copy, **extra):
        items.append(Item(f"{kind}-{len(items):04d}", split, kind, photo, copy, **extra))

    for index, photo in enumerate(photos):
        split = "tune" if index % 2 == 0 else "test"
        neutral = _halves(NEUTRAL)[split]
        school = photo == SCHOOL_PHOTO
        base_contexts = frozenset({"minors", "school"}) if school else frozenset()
        for copy in neutral:
            add(split, "safe", photo, copy, contexts=base_contexts)
        for pictogram, category in PICTOGRAMS.items():
            add(split, "unsafe_image", photo, rng.choice(neutral), pictogram=pictogram,
                categories=frozenset({category}), contexts=base_contexts)
        for category, phrases in UNSAFE_TEXT.items():
            copy = rng.choice(_halves(phrases)[split])
            add(split, "unsafe_text", photo, _obfuscate(copy, rng) if rng.random() < 0.67 else copy,
                categories=frozenset({category}), contexts=base_contexts)
        for copy in rng.sample(_halves(REVERSE)[split], 2):
            add(split, "reverse", photo, copy, contexts=base_contexts)
        for context, phrases in CONTEXT_TEXT.items():  # a beer bottle under school copy
            add(split, "relation", photo, rng.choice(_halves(phrases)[split]), pictogram="bottle",
                categories=frozenset({"alcohol"}), contexts=frozenset({context}) | base_contexts)
        category, word = rng.choice(sorted(TYPOGRAPHIC.items()))
        add(split, "typographic", photo, rng.choice(neutral), word_on_picture=word,
            categories=frozenset({category}), contexts=base_contexts)
    for split in ("tune", "test"):  # the school picture with alcohol / gambling copy
        for category, phrases in RELATION_TEXT.items():
            for copy in _halves(phrases)[split]:
                for obfuscated in (False, True):
                    add(split, "relation", SCHOOL_PHOTO, _obfuscate(copy, rng) if obfuscated else copy,
                        categories=frozenset({category}), contexts=frozenset({"minors", "school"}))
    return items


# -- rendering ---------------------------------------------------------------------------------

def _pistol(draw: ImageDraw.ImageDraw, x: int, y: int, s: float) -> None:
    draw.rectangle([x + 40 * s, y + 60 * s, x + 200 * s, y + 90 * s], fill="black")
    draw.polygon([(x + 60 * s, y + 90 * s), (x + 100 * s, y + 90 * s), (x + 90 * s, y + 180 * s),
                  (x + 50 * s, y + 180 * s)], fill="black")
    draw.ellipse([x + 95 * s, y + 88 * s, x + 125 * s, y + 118 * s], outline="black", width=max(1, int(6 * s)))


def _bottle(draw: ImageDraw.ImageDraw, x: int, y: int, s: float) -> None:
    draw.rectangle([x + 90 * s, y + 20 * s, x + 110 * s, y + 70 * s], fill=(60, 30, 10))
    draw.polygon([(x + 90 * s, y + 70 * s), (x + 110 * s, y + 70 * s), (x + 135 * s, y + 110 * s),
                  (x + 135 * s, y + 200 * s), (x + 65 * s, y + 200 * s), (x + 65 * s, y + 110 * s)], fill=(90, 50, 10))
    draw.rectangle([x + 70 * s, y + 120 * s, x + 130 * s, y + 160 * s], fill=(230, 220, 180))


def _syringe(draw: ImageDraw.ImageDraw, x: int, y: int, s: float) -> None:
    draw.rectangle([x + 40 * s, y + 95 * s, x + 160 * s, y + 115 * s], fill=(200, 220, 240), outline="black",
                   width=max(1, int(3 * s)))
    draw.rectangle([x + 160 * s, y + 100 * s, x + 200 * s, y + 110 * s], fill="gray")
    draw.line([x + 10 * s, y + 105 * s, x + 40 * s, y + 105 * s], fill="black", width=max(1, int(2 * s)))
    draw.rectangle([x + 200 * s, y + 85 * s, x + 206 * s, y + 125 * s], fill="black")


_DRAW = {"pistol": _pistol, "bottle": _bottle, "syringe": _syringe}


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


def render(item: Item) -> Image.Image:
    """The item as a SIDE x SIDE picture (deterministic: placement derives from the id)."""
    rng = random.Random(item.id)
    image = Image.open(PHOTOS / item.photo).convert("RGB").resize((SIDE, SIDE))
    draw = ImageDraw.Draw(image)
    if item.pictogram:
        scale = rng.uniform(1.4, 2.0)
        x, y = rng.randint(0, max(0, int(SIDE - 210 * scale))), rng.randint(0, max(0, int(SIDE - 260 * scale)))
        _DRAW[item.pictogram](draw, x, y, scale)
    if item.word_on_picture:
        font = _font(rng.randint(70, 100))
        x, y = rng.randint(10, 120), rng.randint(120, 260)
        draw.text((x, y), item.word_on_picture, font=font, fill=(250, 250, 250), stroke_width=3, stroke_fill=(0, 0, 0))
    if item.copy:
        font = _font(30)
        width = draw.textlength(item.copy, font=font)
        if width > SIDE - 20:
            font = _font(max(14, int(30 * (SIDE - 20) / width)))
            width = draw.textlength(item.copy, font=font)
        top = SIDE - 64
        draw.rectangle([0, top, SIDE, SIDE], fill=(20, 20, 20))
        draw.text(((SIDE - width) / 2, top + 14), item.copy, font=font, fill=(255, 255, 255))
    return image
