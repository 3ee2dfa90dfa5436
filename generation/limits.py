"""Copy length limits per ad platform, written down in one place with their sources.

One set of copy (headline, body, call to action) is rendered into every format a brief asks for
and handed to the platforms those formats stand for (:mod:`generation.formats` says which
placement a size is made for; :data:`_PLATFORMS_BY_PLACEMENT` which platforms' text fields that
placement carries), so a variant has to fit the *strictest* platform among them:
:func:`limits_for_formats` combines them with ``min``.

Where a platform states a recommended length that avoids truncation next to a much larger hard
maximum (Meta primary text: 125 shown of 2,200 allowed), the recommended, visible length is used:
copy cut off behind "See more" is copy a reviewer would reject.

A call to action on Meta, LinkedIn and X is a button picked from the platform's own fixed list,
but Scout also overlays it on the rendered image, so its length is bounded by the one platform
that lets advertisers write it: Google's responsive display ads (30 characters).

Lengths are counted in Unicode code points after stripping, which is how the platforms count
them for Latin scripts (emoji and CJK can count double on some; briefs here are Latin-script).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol

from generation.formats import AdFormat

META_IMAGE_ADS = "https://www.facebook.com/business/ads-guide/image"
META_STORIES = "https://www.facebook.com/business/ads-guide/update/image/facebook-story"
GOOGLE_RDA = "https://developers.google.com/google-ads/api/reference/rpc/v20/ResponsiveDisplayAdInfo"
GOOGLE_RDA_HELP = "https://support.google.com/google-ads/answer/17090561"
LINKEDIN_SINGLE_IMAGE = "https://www.linkedin.com/help/lms/answer/a426534"
X_CARDS = "https://business.x.com/en/help/campaign-setup/advertiser-card-specifications"


@dataclass(frozen=True)
class Platform:
    """One platform's ad surface and the copy lengths it shows without truncation."""

    name: str
    headline: int
    body: int
    cta: int
    sources: tuple[str, ...]
    note: str


PLATFORMS: dict[str, Platform] = {
    platform.name: platform
    for platform in (
        # Meta feed (Facebook + Instagram, 1:1 and 4:5): "Primary text: 125 characters,
        # Headline: 40 characters" (Meta Ads Guide, text recommendations); ~125 characters of
        # primary text show on mobile before "See more".
        Platform("meta-feed", headline=40, body=125, cta=30, sources=(META_IMAGE_ADS,),
                  note="primary text 125 shown before 'See more'; headline 40 recommended"),
        # Meta Stories / Reels (9:16): the same 125 / 40 recommendation in the Stories guide,
        # which also asks to keep the top 14 % and bottom 20 % free of text (compose's business).
        Platform("meta-stories", headline=40, body=125, cta=30, sources=(META_STORIES,),
                  note="primary text 125, headline 40 (Stories text recommendations)"),
        # Google responsive display ads (1.91:1 1200x628 and 1:1): headline 30, long headline 90,
        # description 90, business name 25, call_to_action_text display width 30. Our headline is
        # the short headline (the one every size shows); body is the description.
        Platform("google-display", headline=30, body=90, cta=30, sources=(GOOGLE_RDA, GOOGLE_RDA_HELP),
                  note="short headline 30, description 90, call to action 30"),
        # LinkedIn single image ads (1.91:1 1200x627, 1:1, 4:5): "Introductory text: use up to
        # 150 characters ... to avoid truncation"; headline 70 to avoid truncation (200 maximum).
        Platform("linkedin-feed", headline=70, body=150, cta=30, sources=(LINKEDIN_SINGLE_IMAGE,),
                  note="introductory text 150, headline 70 to avoid truncation"),
        # X image ads with a website card (1.91:1, 1:1): post text 280 (257 with a link, which
        # always counts 23), website card headline 70.
        Platform("x-timeline", headline=70, body=257, cta=30, sources=(X_CARDS,),
                  note="post text 280 minus a 23-character link; website card headline 70"),
    )
}

# generation.formats placement (what a size is made for) -> the platforms whose copy fields it
# carries. Its sources name these platforms for each placement; IAB display units run on the
# Google Display Network, whose responsive ads fill them.
_PLATFORMS_BY_PLACEMENT: dict[str, tuple[str, ...]] = {
    "feed-square": ("meta-feed",),
    "feed-portrait": ("meta-feed",),
    "link-landscape": ("meta-feed", "google-display", "linkedin-feed", "x-timeline"),
    "stories-reels": ("meta-stories",),
    **{key: ("google-display",) for key in (
        "medium-rectangle", "large-rectangle", "leaderboard", "super-leaderboard", "billboard",
        "skyscraper", "half-page", "portrait", "smartphone-banner", "smartphone-banner-300")},
}


@dataclass(frozen=True)
class CopyLimits:
    """The maximum lengths a variant must respect, and which platforms they come from."""

    headline: int
    body: int
    cta: int
    platforms: tuple[str, ...]

    def describe(self) -> str:
        return (f"headline <= {self.headline}, body <= {self.body}, call to action <= {self.cta} "
                f"characters ({', '.join(self.platforms)})")


def platforms_for_format(ad_format: str | AdFormat) -> list[Platform]:
    """The platforms an ad format's copy goes to; every platform when the size is made for no
    known placement (the copy may then run anywhere, so the strictest limits apply)."""
    if isinstance(ad_format, str):
        ad_format = AdFormat.parse(ad_format)
    placement = ad_format.placement
    names = _PLATFORMS_BY_PLACEMENT.get(placement.key) if placement else None
    return [PLATFORMS[name] for name in names] if names else list(PLATFORMS.values())


def limits_for_formats(formats: Iterable[str | AdFormat]) -> CopyLimits:
    """The strictest limits over every platform the formats stand for (all platforms when the
    brief names no format, since the copy may then go anywhere)."""
    platforms: dict[str, Platform] = {}
    for ad_format in formats:
        platforms.update((p.name, p) for p in platforms_for_format(ad_format))
    chosen = list(platforms.values()) or list(PLATFORMS.values())
    return CopyLimits(
        headline=min(p.headline for p in chosen),
        body=min(p.body for p in chosen),
        cta=min(p.cta for p in chosen),
        platforms=tuple(p.name for p in chosen),
    )


class HasCopy(Protocol):
    headline: str
    body: str
    cta: str


def check(variant: HasCopy, limits: CopyLimits) -> list[str]:
    """Every way the variant breaks the limits, as sentences a reviewer can act on (empty: fits)."""
    problems = []
    for field, limit in (("headline", limits.headline), ("body", limits.body), ("cta", limits.cta)):
        text = getattr(variant, field).strip()
        if not text:
            problems.append(f"{field} is empty")
        elif len(text) > limit:
            problems.append(f"{field} is {len(text)} characters, over the {limit} allowed "
                            f"({', '.join(limits.platforms)})")
    return problems
