"""The ``vlm`` aligner: a vision-language model rates each candidate, aspect by aspect, 1 to 5.

Any OpenAI-compatible chat-completions endpoint with image input works (Ollama, vLLM, LM Studio,
a hosted API). Each candidate is one request: the brief's aspects as text plus the image, and a
JSON schema asking for a rating and a one-line reason per aspect. The image sent is the library's
stored thumbnail of the asset, read by asset id (never a path from a brief or a request), as JPEG.

Answers that are not JSON, miss an aspect or rate outside 1-5 count as malformed and are retried
like 429s, 5xx and timeouts (by :class:`~generation.openai_api.OpenAIClient`); a candidate that
still has no answer is reported with the problem and the batch goes on.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from generation.align.base import Aligner, Alignment, Aspect, AspectScore, CandidateImage, brief_aspects, combine
from generation.briefs import Brief
from generation.openai_api import OpenAIClient, image_content
from indexer.errors import ConfigError, ScoutError
from search.engine import Searcher
from search.files import thumbnail

ABSENT = 2.0  # a must-avoid thing rated above "barely" (2) is present and costs its excess

SYSTEM = (
    "You review candidate photos for an advertising brief. For every aspect you are given, rate the "
    "image from 1 to 5 and give a one-line reason a creative reviewer can check. For wanted aspects "
    "(subject, selling point, tone, audience, must show): 1 = not at all, 2 = barely, 3 = partly, "
    "4 = good fit, 5 = perfect fit. For aspects to avoid: 1 = absent, 2 = barely visible, "
    "3 = noticeable, 4 = prominent, 5 = dominant. Judge only what is visible in the image. "
    "Answer with JSON only."
)

SCHEMA = {
    "type": "object",
    "properties": {
        "aspects": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "aspect": {"type": "string"},
                    "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                    "reason": {"type": "string"},
                },
                "required": ["aspect", "rating", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["aspects"],
    "additionalProperties": False,
}


class _Rating(BaseModel):
    model_config = ConfigDict(extra="ignore")
    aspect: str
    rating: int = Field(ge=1, le=5)
    reason: str = ""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    aspects: list[_Rating]


def prompt_for(brief: Brief, aspects: list[Aspect]) -> str:
    lines = [f"Brief {brief.id!r}. Rate the image for each aspect below (use the aspect names as given):"]
    for aspect in aspects:
        role = "AVOID" if aspect.kind == "must_avoid" else "WANTED"
        lines.append(f"- {aspect.name} [{role}, {aspect.kind}]: {aspect.text}")
    return "\n".join(lines)


def parser(aspects: list[Aspect]):
    """Validates an answer: every aspect rated once (matched by name), ratings 1-5."""
    names = [a.name for a in aspects]

    def parse(data: dict) -> dict[str, _Rating]:
        answer = _Answer.model_validate(data)
        rated = {r.aspect.strip(): r for r in answer.aspects}
        missing = [n for n in names if n not in rated]
        if missing:
            raise ValueError(f"no rating for {', '.join(missing)}")
        return {n: rated[n] for n in names}

    return parse


class VlmAligner:
    name = "vlm"
    scale = "rating 1-5 (1 not at all ... 5 perfect fit), minus must-avoid ratings above 2"
    max_candidates = 12  # one model call per image: the best retrieved candidates only

    def __init__(self, searcher: Searcher, client: OpenAIClient):
        self.searcher = searcher
        self.client = client
        self.model_id = f"vlm:{client.settings.model}"

    def _image(self, candidate: CandidateImage) -> bytes:
        if candidate.asset_id is None:
            raise ScoutError("Only library assets can be sent to a vision model (this image is not indexed).")
        data, _ = thumbnail(self.searcher.library, candidate.asset_id)
        raw = data.read_bytes() if isinstance(data, Path) else data
        with Image.open(io.BytesIO(raw)) as image:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "JPEG", quality=90)
        return buffer.getvalue()

    def align(self, brief: Brief, candidates: list[CandidateImage]) -> list[Alignment]:
        aspects = brief_aspects(brief)
        text = prompt_for(brief, aspects)
        parse = parser(aspects)
        results = []
        for candidate in candidates:
            try:
                messages = [{"role": "system", "content": SYSTEM},
                            {"role": "user", "content": [{"type": "text", "text": text},
                                                         image_content(self._image(candidate), "image/jpeg")]}]
                rated = self.client.chat_json(messages, schema=SCHEMA, parse=parse, schema_name="brief_alignment")
            except (ScoutError, OSError) as exc:
                results.append(Alignment(None, [], getattr(exc, "message", str(exc))))
                continue
            scored = [(a, float(rated[a.name].rating)) for a in aspects]
            breakdown = [AspectScore(a.name, a.kind, a.text, s, rated[a.name].reason.strip().splitlines()[0]
                                     if rated[a.name].reason.strip() else f"rated {int(s)}") for a, s in scored]
            results.append(Alignment(combine(scored, absent_level=ABSENT), breakdown))
        return results


def load(searcher: Searcher, settings) -> Aligner:
    if settings.endpoint is None:
        raise ConfigError("The vlm aligner needs an OpenAI-compatible chat endpoint.",
                          hint="Set SCOUT_VLM_BASE_URL and SCOUT_VLM_MODEL, or pass --vlm-base-url/--vlm-model.")
    return VlmAligner(searcher, OpenAIClient(settings.endpoint))
