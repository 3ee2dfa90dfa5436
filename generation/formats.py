"""Ad formats: a pixel size, the placement it is made for, and where text may sit on it.

A platform draws its own interface over an ad (profile bar, like rail, call-to-action button, the
AdChoices badge), so headline and call to action must stay inside the *safe area*: the part of
the canvas nothing covers. Each well-known size below carries its safe area as insets from the
four edges, with the source it comes from. Sizes that are not in the table are matched by aspect
ratio (a 1440x2560 story is a 1080x1920 story, scaled); anything else gets the default margin
rule (:data:`DEFAULT_MARGIN`), so every WxH renders.

Platform guidance drifts as interfaces change; where sources disagree the stricter number wins,
because text hidden under a button is worse than text a little further from the edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.errors import ConfigError

MIN_SIDE, MAX_SIDE = 16, 4096  # pixels: covers every placement up to 4K digital out-of-home; a render
# beyond it costs minutes and gigabytes for no ad anyone runs
MAX_ASPECT = 20.0  # the widest IAB unit (970x90) is 10.8:1; beyond 20:1 it is a typo, not an ad

_SIZE = re.compile(r"^\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*$")

# Sources, named once; each number below says which one it comes from and what it says.
META_REELS = ("Meta Business Help Center, Reels ads safe zone, as quoted by houseofmarketers.com/"
              "guide-to-safe-zones-tiktok-facebook-instagram-stories-reels: 'keep clear of top 14%, "
              "bottom 35%, sides 6%' (1080x1920)")
META_STORIES = ("Meta Ads Guide, Stories: leave the top 14 % (250 px) and the bottom 20 % (340 px at "
                "1440x2560) free of text and logos (imagefactory.co.kr/en/guides/"
                "instagram-story-ad-text-safe-zone)")
TIKTOK_IN_FEED = ("TikTok Ads Manager help, 'TikTok Auction In-Feed Ads' (ads.tiktok.com/help/article?"
                  "aid=10002742) ships the safe-zone templates; adfuseai.com/blog/tiktok-ad-sizes-"
                  "specs-guide reads them as: top 150 px, bottom 440 px, right 150 px clear at 1080x1920")
META_FEED = ("imagefactory.co.kr/en/guides/instagram-story-ad-text-safe-zone: 'IG Feed 4:5 "
             "(1080x1350): 64px all sides'; feed images carry no platform UI, so 64 px is a design "
             "margin that also survives the feed's rounded-corner and 1:1 preview crops")
GOOGLE_RDA = ("Google Ads API ResponsiveDisplayAdInfo: marketing images 1.91:1 (min 600x314); Meta and "
              "LinkedIn link ads use the same 1200x628 image. No UI is drawn over it; the feed margin "
              "(64 px at 1080, 5.9 % of the shorter side) is kept")
IAB_PORTFOLIO = ("IAB Tech Lab New Ad Portfolio (2017), fixed size ad units: 970x250 billboard, 300x50/"
                 "320x50 smartphone banner, 728x90 leaderboard, 970x90 super leaderboard, 300x1050 "
                 "portrait, 160x600 skyscraper, 300x250 medium rectangle, 120x60; 'ad unit content must "
                 "be clearly distinguishable from publisher content (e.g. clearly defined borders)'")
ADCHOICES = ("Google Ad Manager help 2695279, AdChoices: 'The AdChoices icon is 19x15 pixels when "
             "collapsed ... The icon appears in the top right corner of display ads'")


@dataclass(frozen=True)
class Box:
    """A pixel rectangle, ``right`` and ``bottom`` exclusive (the PIL convention)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def contains(self, other: "Box") -> bool:
        return (self.left <= other.left and self.top <= other.top
                and other.right <= self.right and other.bottom <= self.bottom)

    def overlap(self, other: "Box") -> int:
        """Area shared with ``other`` in pixels (0 when apart)."""
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        return max(0, width) * max(0, height)

    def expand(self, pixels: int) -> "Box":
        return Box(self.left - pixels, self.top - pixels, self.right + pixels, self.bottom + pixels)

    def shift(self, dx: int, dy: int) -> "Box":
        return Box(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy)

    def scale(self, sx: float, sy: float) -> "Box":
        return Box(round(self.left * sx), round(self.top * sy), round(self.right * sx), round(self.bottom * sy))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom


@dataclass(frozen=True)
class Insets:
    """Pixels kept free of text at each edge, at the reference size of a placement."""

    top: int
    right: int
    bottom: int
    left: int


@dataclass(frozen=True)
class Placement:
    """What a size is made for: the platform surface, its safe insets and why."""

    key: str
    description: str
    width: int
    height: int
    insets: Insets
    shows_body: bool
    sources: tuple[str, ...]


def _display_insets(width: int, height: int) -> Insets:
    """IAB display units: a border margin of 4 % of the shorter side (at least 4 px), so the
    copy reads as the ad's own and not as page text, plus room for the 19x15 AdChoices badge in
    the top-right corner, taken as a right strip or a top strip, whichever costs less area."""
    margin = max(4, round(0.04 * min(width, height)))
    badge_w, badge_h = 19, 15
    if badge_w * height <= badge_h * width:
        return Insets(top=margin, right=margin + badge_w, bottom=margin, left=margin)
    return Insets(top=margin + badge_h, right=margin, bottom=margin, left=margin)


def _feed_insets(width: int, height: int) -> Insets:
    margin = round(64 / 1080 * min(width, height))
    return Insets(margin, margin, margin, margin)


def _vertical_insets(width: int, height: int) -> Insets:
    """9:16 full screen: one asset runs in Meta Stories, Meta Reels and TikTok, so the strictest
    edge of the three wins. Top 14 % (Meta, both; TikTok asks 150/1920 = 7.8 %), bottom 35 % (Meta
    Reels; Stories ask 20 %, TikTok 440/1920 = 22.9 %), left 6 % (Meta Reels), right 150/1080 =
    13.9 % (TikTok's like/comment rail; Meta Reels asks 6 %)."""
    return Insets(top=round(0.14 * height), right=round(150 / 1080 * width),
                  bottom=round(0.35 * height), left=round(0.06 * width))


def _placement(key, description, size, insets_rule, shows_body, *sources) -> Placement:
    width, height = size
    return Placement(key, description, width, height, insets_rule(width, height), shows_body, sources)


_FEED = (META_FEED,)
_DISPLAY = (IAB_PORTFOLIO, ADCHOICES)

PLACEMENTS: dict[tuple[int, int], Placement] = {
    (p.width, p.height): p
    for p in (
        _placement("feed-square", "Meta feed square (Facebook, Instagram), 1:1", (1080, 1080),
                   _feed_insets, True, *_FEED),
        _placement("feed-portrait", "Meta feed portrait (Facebook, Instagram), 4:5", (1080, 1350),
                   _feed_insets, True, *_FEED),
        _placement("link-landscape", "Link / responsive display landscape (Meta, Google, LinkedIn), 1.91:1",
                   (1200, 628), _feed_insets, True, GOOGLE_RDA, *_FEED),
        _placement("stories-reels", "Full-screen vertical: Meta Stories and Reels, TikTok in-feed, 9:16",
                   (1080, 1920), _vertical_insets, False, META_REELS, META_STORIES, TIKTOK_IN_FEED),
        _placement("medium-rectangle", "IAB medium rectangle", (300, 250), _display_insets, False, *_DISPLAY),
        _placement("large-rectangle", "IAB large rectangle", (336, 280), _display_insets, False, *_DISPLAY),
        _placement("leaderboard", "IAB leaderboard", (728, 90), _display_insets, False, *_DISPLAY),
        _placement("super-leaderboard", "IAB super leaderboard", (970, 90), _display_insets, False, *_DISPLAY),
        _placement("billboard", "IAB billboard", (970, 250), _display_insets, False, *_DISPLAY),
        _placement("skyscraper", "IAB wide skyscraper", (160, 600), _display_insets, False, *_DISPLAY),
        _placement("half-page", "IAB half page", (300, 600), _display_insets, False, *_DISPLAY),
        _placement("portrait", "IAB portrait", (300, 1050), _display_insets, False, *_DISPLAY),
        _placement("smartphone-banner", "IAB smartphone banner", (320, 50), _display_insets, False, *_DISPLAY),
        _placement("smartphone-banner-300", "IAB smartphone banner", (300, 50), _display_insets, False,
                   *_DISPLAY),
    )
}

DEFAULT_MARGIN = 64 / 1080
"""Sizes matching no placement (by size or by aspect ratio within 1 %) keep this fraction of the
shorter side free on every edge: the 64 px Meta feed margin at 1080 px, at least 4 px. Nothing is
known of the surface they run on, so no edge is favoured; body copy is shown when the safe area's
shorter side has room for it (400 px)."""

_ASPECT_TOLERANCE = 0.01  # Google asks 1.91:1 "+-1%": the same tolerance decides "same shape"


@dataclass(frozen=True)
class AdFormat:
    """A finished ad's pixel size, e.g. ``AdFormat.parse("1080x1920")``."""

    width: int
    height: int

    def __post_init__(self):
        for side in (self.width, self.height):
            if not isinstance(side, int) or isinstance(side, bool):
                raise ConfigError(f"Ad format sides must be whole pixels, got {side!r}.",
                                  hint="Write formats like 1080x1080.")
        if not (MIN_SIDE <= self.width <= MAX_SIDE and MIN_SIDE <= self.height <= MAX_SIDE):
            raise ConfigError(f"Ad format {self.width}x{self.height} is out of range: each side must be "
                              f"between {MIN_SIDE} and {MAX_SIDE} pixels.",
                              hint="Common sizes: 1080x1080, 1080x1350, 1200x628, 1080x1920, 300x250.")
        if max(self.aspect, 1 / self.aspect) > MAX_ASPECT:
            raise ConfigError(f"Ad format {self.width}x{self.height} is narrower than 1:{MAX_ASPECT:g}; "
                              "no ad placement has that shape.", hint="Check for a missing or extra digit.")

    @classmethod
    def parse(cls, text: str) -> "AdFormat":
        """``"1080x1920"`` (also ``X`` or ``×``, spaces allowed) to a format; junk is a ConfigError."""
        match = _SIZE.match(text) if isinstance(text, str) else None
        if not match:
            raise ConfigError(f"Ad format {text!r} is not WIDTHxHEIGHT.",
                              hint="Write formats like 1080x1080, 1200x628 or 1080x1920.")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def name(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def aspect(self) -> float:
        """Width over height (1.91 for 1200x628)."""
        return self.width / self.height

    @property
    def placement(self) -> Placement | None:
        """The placement this size is made for: exact size first, then the same shape within 1 %."""
        exact = PLACEMENTS.get((self.width, self.height))
        if exact:
            return exact
        for placement in PLACEMENTS.values():
            if abs(placement.width / placement.height / self.aspect - 1) <= _ASPECT_TOLERANCE:
                return placement
        return None

    @property
    def safe_area(self) -> Box:
        """Where text may sit: the canvas minus the insets of its placement (scaled to this size),
        or minus :data:`DEFAULT_MARGIN` for a size no placement matches."""
        placement = self.placement
        if placement is None:
            margin = max(4, round(DEFAULT_MARGIN * min(self.width, self.height)))
            return Box(margin, margin, self.width - margin, self.height - margin)
        sx, sy = self.width / placement.width, self.height / placement.height
        insets = placement.insets
        return Box(round(insets.left * sx), round(insets.top * sy),
                   self.width - round(insets.right * sx), self.height - round(insets.bottom * sy))

    @property
    def shows_body(self) -> bool:
        """Whether body copy is overlaid: feed and link formats show it; full-screen vertical and
        display units carry headline and call to action only (their platforms show the body
        elsewhere, or there is no room to read it)."""
        placement = self.placement
        if placement is not None:
            return placement.shows_body
        safe = self.safe_area
        return min(safe.width, safe.height) >= 400

    def describe(self) -> str:
        placement = self.placement
        what = placement.description if placement else "custom size (default margins)"
        return f"{self.name}: {what}"

    def __str__(self) -> str:
        return self.name
