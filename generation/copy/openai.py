"""Copy from any OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp, hosted).

The model gets the brief, what Scout knows of the image (visible labels with their scores,
dominant colours, text in it, orientation) and the length limits, and must answer a JSON object
with ``n`` variants of headline / body / cta / references (a strict JSON schema where the server
supports it; :mod:`generation.openai_api` falls back to JSON mode and retries malformed answers).

Lengths are enforced here, not trusted: variants over a limit are sent back once with the
numbers and a request to shorten; whatever still does not fit is kept and flagged for the
reviewer, as is copy that mentions something the brief says to avoid. When the endpoint stays down the brief fails with one
:class:`~indexer.errors.ServiceUnavailable` that names the brief and the endpoint.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from generation.copy.facts import ImageFacts
from generation.copy.variant import CopyVariant
from generation.copy.writer import CopyWriterOptions, base_language
from generation.limits import CopyLimits, check, limits_for_formats
from generation.openai_api import EndpointSettings, OpenAIClient
from indexer.errors import ConfigError, ServiceUnavailable

if TYPE_CHECKING:
    from generation.briefs import Brief

SYSTEM_PROMPT = (
    "You are a senior copywriter at a travel and lifestyle advertising agency. You write ad copy "
    "for one chosen photo. Every variant must refer to specific things the photo shows (listed "
    "under image.visible_labels, image.dominant_colours and image.text_in_image); never write copy "
    "that would fit any picture, and never mention anything the brief lists under must_avoid. "
    "Each variant takes a different angle (for example: the place, the feeling, the offer for the "
    "audience). Write in the language given by the brief's language code. Respect the character "
    "limits exactly: count characters, spaces included. In 'references' list, in plain English, "
    "the visual elements of the photo the variant refers to, using the label and colour names "
    "given. Answer with a JSON object only."
)


class Draft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    headline: str = Field(min_length=1)
    body: str = Field(min_length=1)
    cta: str = Field(min_length=1)
    references: list[str] = Field(default_factory=list)
    angle: str = ""


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    variants: list[Draft] = Field(min_length=1)


def answer_schema(n: int) -> dict:
    """The JSON schema asked for (strict mode: every property required, nothing else allowed)."""
    draft = {
        "type": "object",
        "properties": {
            "headline": {"type": "string"},
            "body": {"type": "string"},
            "cta": {"type": "string"},
            "references": {"type": "array", "items": {"type": "string"}},
            "angle": {"type": "string"},
        },
        "required": ["headline", "body", "cta", "references", "angle"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"variants": {"type": "array", "items": draft, "minItems": n, "maxItems": n}},
        "required": ["variants"],
        "additionalProperties": False,
    }


class OpenAIWriter:
    name = "openai"

    def __init__(self, settings: EndpointSettings, *, temperature: float = 0.7, client: OpenAIClient | None = None):
        self.settings = settings
        self.model = settings.model
        self.temperature = temperature
        self._client = client or OpenAIClient(settings)

    def close(self) -> None:
        self._client.close()

    def write(self, brief: "Brief", facts: ImageFacts, n: int = 3,
              limits: CopyLimits | None = None) -> list[CopyVariant]:
        limits = limits or limits_for_formats(brief.formats)
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(_request(brief, facts, n, limits), ensure_ascii=False)},
        ]
        drafts = self._ask(brief, messages, n)
        too_long = {i: check(d, limits) for i, d in enumerate(drafts) if check(d, limits)}
        if too_long:
            messages += [
                {"role": "assistant", "content": json.dumps({"variants": [d.model_dump() for d in drafts]},
                                                            ensure_ascii=False)},
                {"role": "user", "content": _shorten_request(too_long, limits, n)},
            ]
            try:
                retry = self._ask(brief, messages, n)
            except ServiceUnavailable:
                retry = drafts  # the first answer is still copy: keep it, flagged below
            drafts = [retry[i] if i in too_long and not check(retry[i], limits) else d
                      for i, d in enumerate(drafts)]
        language = base_language(brief.language)
        variants = []
        for draft in drafts:
            variant = CopyVariant(headline=draft.headline.strip(), body=draft.body.strip(), cta=draft.cta.strip(),
                                  references=[r.strip() for r in draft.references if r.strip()],
                                  language=language, writer=self.name, model=self.model, angle=draft.angle.strip())
            variants.append(variant.flagged(*check(variant, limits), *_avoided(variant, brief.must_avoid)))
        return variants

    def _ask(self, brief: "Brief", messages: list[dict], n: int) -> list[Draft]:
        def parse(data: dict) -> list[Draft]:
            answer = Answer.model_validate(data)
            if len(answer.variants) < n:
                raise ValueError(f"{len(answer.variants)} variants, {n} asked for")
            return answer.variants[:n]

        try:
            return self._client.chat_json(messages, schema=answer_schema(n), parse=parse,
                                          temperature=self.temperature, schema_name="ad_copy")
        except ServiceUnavailable as exc:
            raise ServiceUnavailable(f"No copy for brief {brief.id!r}: {exc.message}", hint=exc.hint) from None


def _avoided(variant: CopyVariant, must_avoid: list[str]) -> list[str]:
    """The model was told to avoid these; it is checked, not trusted."""
    text = f"{variant.headline} {variant.body} {variant.cta}"
    return [f"mentions {term!r}, which the brief says to avoid" for term in must_avoid
            if re.search(rf"\b{re.escape(term)}\b", text, re.IGNORECASE)]


def _request(brief: "Brief", facts: ImageFacts, n: int, limits: CopyLimits) -> dict:
    return {
        "task": f"Write {n} distinct ad copy variants for this brief and photo.",
        "brief": {
            "subject": brief.subject, "selling_points": list(brief.selling_points), "tone": brief.tone,
            "audience": brief.audience, "must_show": list(brief.must_show), "must_avoid": list(brief.must_avoid),
            "language": brief.language, "notes": brief.notes,
        },
        "image": {
            "visible_labels": [{"name": label.name, "score": label.score} for label in facts.labels],
            "dominant_colours": [{"name": c.name, "share": c.share} for c in facts.colours],
            "text_in_image": facts.text,
            "orientation": facts.orientation,
            "size": f"{facts.width}x{facts.height}",
        },
        "limits": {"headline_max_chars": limits.headline, "body_max_chars": limits.body,
                   "cta_max_chars": limits.cta, "platforms": list(limits.platforms)},
    }


def _shorten_request(too_long: dict[int, list[str]], limits: CopyLimits, n: int) -> str:
    lines = [f"Variant {i + 1}: {'; '.join(problems)}." for i, problems in too_long.items()]
    return ("Some variants are too long:\n" + "\n".join(lines) +
            f"\nShorten them to at most {limits.headline} characters for the headline, {limits.body} for the "
            f"body and {limits.cta} for the cta, keeping their meaning and references. Answer with all {n} "
            "variants again in the same JSON shape.")


def load(options: CopyWriterOptions) -> OpenAIWriter:
    if options.endpoint is None:
        raise ConfigError(
            "The openai copy writer needs an OpenAI-compatible endpoint.",
            hint="Set SCOUT_COPY_BASE_URL and SCOUT_COPY_MODEL (and SCOUT_COPY_API_KEY if the server needs "
            "one), or use the template writer.",
        )
    return OpenAIWriter(options.endpoint, temperature=options.temperature)
