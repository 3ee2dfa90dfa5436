"""The brand-safety policy: categories with risk levels, contexts, combination rules, thresholds.

A policy is client data (a beer brand allows alcohol, a children's brand allows nothing near it),
so it is a YAML file validated here with pydantic: every mistake is a :class:`ConfigError`
naming the field path (``categories.arms.risk``) and what is allowed. It names nothing on disk
beyond itself. Its ``digest`` (a hash of the validated content) is part of the safety pass's
version, so editing a policy re-judges every asset on the next ``scout safety``.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indexer.errors import ConfigError

Risk = Literal["floor", "high", "medium", "low", "allowed"]
Verdict = Literal["safe", "review", "block"]
VERDICTS: tuple[Verdict, ...] = ("safe", "review", "block")
RISK_VERDICT: dict[str, Verdict] = {"floor": "block", "high": "block", "medium": "review", "low": "safe",
                                    "allowed": "safe"}
MAX_POLICY_BYTES = 1_000_000

_Phrase = Field(min_length=1, max_length=200)


def worse(a: Verdict, b: Verdict) -> Verdict:
    return a if VERDICTS.index(a) >= VERDICTS.index(b) else b


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Strict):
    image: float = Field(0.2, ge=0, le=1)  # zero-shot probability of a category's prompts
    image_support: float = Field(0.2, ge=0, le=1)
    text: float = Field(0.5, ge=-1, le=1)  # cosine of the text and a description
    text_support: float = Field(0.35, ge=-1, le=1)
    context_image: float = Field(0.3, ge=0, le=1)
    nudity: float = Field(0.5, ge=0, le=1)


class Category(_Strict):
    label: str = Field(min_length=1, max_length=200)
    risk: Risk
    description: list[str] = Field(default_factory=list, max_length=20)
    words: list[str] = Field(default_factory=list, max_length=500)
    ambiguous: list[str] = Field(default_factory=list, max_length=500)
    image_prompts: list[str] = Field(default_factory=list, max_length=50)
    nudity: bool = False  # nudenet's exposed-body detections count for this category

    @property
    def verdict(self) -> Verdict:
        return RISK_VERDICT[self.risk]


class Context(_Strict):
    label: str = Field(min_length=1, max_length=200)
    description: list[str] = Field(default_factory=list, max_length=20)
    words: list[str] = Field(default_factory=list, max_length=500)
    image_prompts: list[str] = Field(default_factory=list, max_length=50)


class Rule(_Strict):
    name: str = Field(min_length=1, max_length=100)
    categories: list[str] = Field(min_length=1)
    contexts: list[str] = Field(min_length=1)
    # "any": category and context seen anywhere; "image-text": the category in the picture and
    # the context in the words (disaster imagery under upbeat copy), and not the other way round.
    modalities: Literal["any", "image-text"] = "any"
    verdict: Verdict = "block"
    reason: str = Field("", max_length=300)


class Policy(_Strict):
    version: str = Field(min_length=1, max_length=100, pattern=r"^[\w.\-]+$")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    # Zero-shot over the pictures: the softmax scale, and the everyday things each category's
    # prompts compete with (without them every picture would be "most like" some category).
    image_scale: float = Field(50.0, gt=0, le=1000)
    image_background: list[str] = Field(default_factory=list, max_length=1000)
    categories: dict[str, Category] = Field(min_length=1)
    contexts: dict[str, Context] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules_name_known_things(self) -> "Policy":
        for index, rule in enumerate(self.rules):
            for field, known in (("categories", self.categories), ("contexts", self.contexts)):
                for name in getattr(rule, field):
                    if name not in known:
                        raise ValueError(f"rules.{index}.{field}: {name!r} is not one of the policy's "
                                         f"{field} ({', '.join(known) or 'none'})")
        return self

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()[:12]

    @property
    def stamp(self) -> str:
        """What a stored verdict is stamped with: the name the client gave plus the content."""
        return f"{self.version}@{self.digest}"


def _error_path(error: dict) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


def parse_policy(text: str, source: str = "policy") -> Policy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"The safety policy {source} is not valid YAML{line}.",
                          hint="Start from the default: scout safety --show-policy > policy.yaml") from None
    if not isinstance(data, dict):
        raise ConfigError(f"The safety policy {source} must be a mapping with version and categories.",
                          hint="Start from the default: scout safety --show-policy > policy.yaml")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(
            f"The safety policy {source} is invalid at {_error_path(first)}: {first['msg']}"
            + (f" ({exc.error_count() - 1} more problems)" if exc.error_count() > 1 else "") + ".",
            hint="Risk levels: floor, high, medium, low, allowed; verdicts: safe, review, block. "
            "See the default: scout safety --show-policy",
        ) from None


def default_policy_text() -> str:
    return resources.files("indexer.safety").joinpath("default_policy.yaml").read_text(encoding="utf-8")


def load_policy(path: Path | None = None) -> Policy:
    """The policy in ``path``, or Scout's default (the GARM floor) when none is given."""
    if path is None:
        return parse_policy(default_policy_text(), "default policy")
    try:
        if not path.is_file():
            raise ConfigError(f"The safety policy {path} is not a file.", hint="Pass a YAML file: --policy policy.yaml")
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise ConfigError(f"The safety policy {path} is over 1 MB.", hint="A policy is a short YAML file.")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"The safety policy {path} is not UTF-8 text.", hint="Save it as UTF-8 YAML.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read the safety policy {path}: {exc.strerror}.",
                          hint="Check the path and its permissions.") from None
    return parse_policy(text, str(path))
