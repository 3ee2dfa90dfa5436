"""An agency's taxonomy: the tags Scout may suggest, each with the prompts that describe it.

A taxonomy file is YAML (or JSON)::

    name: acme-travel
    model: "offline:..."          # optional: the model the thresholds below were set for
    tags:
      - name: scene               # no prompts: a heading in the hierarchy, never suggested itself
      - name: beach
        parent: scene
        prompts: ["a photo of a sandy beach", "people on a beach by the sea"]
        threshold: 2.5            # optional, in the calibrated confidence scale (see tagger)
        group: setting            # optional: tags of one group are exclusive, one suggestion at most

Each tag is scored with the average of its prompts' text vectors (a prompt ensemble, the way
open_clip builds zero-shot classifiers), which is steadier than any one phrasing. The taxonomy's
``version`` is a hash of what affects scores (names, prompts), so editing a threshold does not
re-score the library, while editing a prompt does.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indexer.errors import ConfigError

STARTER = Path(__file__).with_name("starter.yaml")
MAX_TAXONOMY_BYTES = 4 * 1024 * 1024
MAX_TAGS = 2000
MAX_PROMPTS = 32
_NAME = re.compile(r"^[a-z0-9][a-z0-9 &'_-]{0,62}$")
Prompt = Annotated[str, Field(min_length=1, max_length=300)]


class Tag(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    name: str = Field(description="Lower-case words, digits, ' ', '-', '_', '&'; unique in the taxonomy.")
    prompts: list[Prompt] = Field(default_factory=list, max_length=MAX_PROMPTS)
    parent: str | None = None
    threshold: float | None = Field(None, ge=-10, le=50)
    group: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _check_name(self) -> "Tag":
        if not _NAME.match(self.name):
            raise ValueError(f"tag name {self.name!r} must be lower-case letters, digits, spaces, '-', '_' or '&'")
        return self

    @property
    def scored(self) -> bool:
        return bool(self.prompts)


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    name: str = Field("taxonomy", max_length=100)
    model: str | None = Field(None, max_length=500, description="The model the thresholds were set for.")
    tags: list[Tag] = Field(min_length=1, max_length=MAX_TAGS)

    @model_validator(mode="after")
    def _check_tree(self) -> "Taxonomy":
        names = [t.name for t in self.tags]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate tag names: {', '.join(duplicates)}")
        known = set(names)
        for tag in self.tags:
            if tag.parent is not None and tag.parent not in known:
                raise ValueError(f"tag {tag.name!r} has parent {tag.parent!r}, which is not a tag of this taxonomy")
        for tag in self.tags:  # a parent chain must end
            seen, node = {tag.name}, tag
            while node.parent is not None:
                if node.parent in seen:
                    raise ValueError(f"tag {tag.name!r} is its own ancestor (parents form a loop)")
                seen.add(node.parent)
                node = self.tag(node.parent)
        if not any(t.scored for t in self.tags):
            raise ValueError("no tag has prompts, so there is nothing to suggest")
        return self

    def tag(self, name: str) -> Tag:
        for tag in self.tags:
            if tag.name == name:
                return tag
        raise KeyError(name)

    @property
    def scored_tags(self) -> list[Tag]:
        return [t for t in self.tags if t.scored]

    def path(self, name: str) -> list[str]:
        """The tag and its ancestors, root first: ``["scene", "beach"]``."""
        chain = [name]
        while (parent := self.tag(chain[0]).parent) is not None:
            chain.insert(0, parent)
        return chain

    @property
    def version(self) -> str:
        """What affects scores (names and prompts), hashed: a new version re-scores the library."""
        basis = [[t.name, list(t.prompts)] for t in self.scored_tags]
        return hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TaxonomyProblem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def parse_taxonomy(data: object, source: str) -> Taxonomy:
    """A validated taxonomy, or one ConfigError listing every problem with its place in the file."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a mapping with a 'tags' list.",
                          hint=f"See the starter taxonomy: {STARTER}.")
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for problem in exc.errors():
            where = _where(data, problem["loc"])
            message = problem["msg"].removeprefix("Value error, ")
            if problem["type"] == "extra_forbidden":
                fields = Tag.model_fields if "tags" in map(str, problem["loc"]) else Taxonomy.model_fields
                message = f"unknown field; known fields: {', '.join(fields)}"
            problems.append(str(TaxonomyProblem(where, message)))
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise ConfigError(f"{source} is not a valid taxonomy:\n  {shown}",
                          hint=f"See the starter taxonomy for the format: {STARTER}.") from None


def _where(data: dict, loc: tuple) -> str:
    """``tags[3] (beach).prompts.0`` rather than ``tags.3.prompts.0``."""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "tags" and isinstance(parts[1], int):
        try:
            name = data["tags"][parts[1]].get("name")
        except (AttributeError, IndexError, KeyError, TypeError):
            name = None
        label = f"tags[{parts[1]}]" + (f" ({name})" if isinstance(name, str) else "")
        return ".".join([label, *map(str, parts[2:])])
    return ".".join(map(str, parts))


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy in ``path`` (YAML or JSON), or the starter taxonomy Scout ships."""
    path = Path(path) if path is not None else STARTER
    if not path.is_file():
        raise ConfigError(f"No taxonomy file at {path}.", hint=f"Start from a copy of {STARTER}.")
    if path.stat().st_size > MAX_TAXONOMY_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_TAXONOMY_BYTES >> 20} MB; a taxonomy is a short text file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}.") from None
    return parse_taxonomy(data, str(path))
