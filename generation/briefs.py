"""Creative briefs: the :class:`Brief` model and loading one brief or a batch from YAML, JSON or CSV.

A batch is loaded brief by brief: one invalid brief becomes a :class:`BriefError` naming the file,
the brief (its id, else its position or CSV row), the field and what was expected, and the other
briefs still run. Only a file that cannot be read or parsed at all is an exception
(:class:`~indexer.errors.ConfigError`), because then there is nothing to run.

CSV batches have one brief per row and a header naming the fields. List fields (``selling_points``,
``must_show``, ``must_avoid``, ``formats``) hold several values separated by ``;`` or by newlines
inside the (quoted) cell; empty cells take the field's default.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from generation.formats import AdFormat
from indexer.errors import ConfigError

LIST_FIELDS = ("selling_points", "must_show", "must_avoid", "formats")
MAX_PHRASE = 300  # characters of one subject, tone, audience or list entry
MAX_PHRASES = 20  # entries of selling_points, must_show, must_avoid
MAX_FORMATS = 8
MAX_BRIEF_FILE_BYTES = 16 * 1024 * 1024
Phrase = Annotated[str, Field(max_length=MAX_PHRASE)]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class Brief(BaseModel):
    """One creative brief. Unknown fields are refused, so a typo such as ``selling_point`` is an
    error rather than a silently ignored wish."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    id: str = Field(description="Unique in its batch; letters, digits, '.', '_', '-' (it names a folder).")
    # Every phrase becomes a query and every format a render: the bounds keep one brief's work
    # (and so one request's) proportionate to what a real brief asks for.
    subject: str = Field(min_length=1, max_length=MAX_PHRASE, description="The destination or product.")
    selling_points: list[Phrase] = Field(default_factory=list, max_length=MAX_PHRASES)
    tone: str = Field("", max_length=MAX_PHRASE)
    audience: str = Field("", max_length=MAX_PHRASE)
    must_show: list[Phrase] = Field(default_factory=list, max_length=MAX_PHRASES)
    must_avoid: list[Phrase] = Field(default_factory=list, max_length=MAX_PHRASES)
    formats: list[str] = Field(default_factory=lambda: ["1080x1080"], max_length=MAX_FORMATS,
                               description='Each "WxH" in pixels.')
    language: str = "en"
    candidates: int = Field(3, ge=1, le=20, description="How many images to surface.")
    notes: str = Field("", max_length=4000)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("expected 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value

    @field_validator("selling_points", "must_show", "must_avoid")
    @classmethod
    def _phrases(cls, values: list[str]) -> list[str]:
        return [v.strip() for v in values if v and v.strip()]

    @field_validator("formats")
    @classmethod
    def _formats(cls, values: list[str]) -> list[str]:
        normalised = []
        for value in values:
            try:  # the one parser of ad formats, so a brief accepts exactly what can be rendered
                normalised.append(AdFormat.parse(value.strip()).name)
            except ConfigError as exc:
                raise ValueError(f"{exc.message} {exc.hint or ''}".strip()) from None
        if not normalised:
            raise ValueError('at least one format is needed, e.g. "1080x1080"')
        return normalised

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not _LANGUAGE.match(value):
            raise ValueError('expected a language code such as "en", "pt-PT" or "de"')
        return value

    def content_hash(self) -> str:
        """Identifies what the brief asks for: a resumed run redoes a brief only when this changes."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class BriefError:
    source: str  # the file (or "request")
    brief: str  # the brief's id, else "brief 3" / "row 4"
    field: str  # "" when the problem is the brief as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.source}, {self.brief}" + (f", field {self.field!r}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass
class BriefBatch:
    source: str
    briefs: list[Brief] = field(default_factory=list)
    errors: list[BriefError] = field(default_factory=list)


def generation_prompt(brief: Brief) -> tuple[str, str]:
    """The text-to-image prompt and negative prompt a brief asks for, built from its fields only,
    so the same brief always gives the same prompt (reported verbatim when nothing generates)."""
    parts = [f"Advertising photograph of {brief.subject}"]
    if brief.must_show:
        parts.append("showing " + ", ".join(brief.must_show))
    if brief.selling_points:
        parts.append("featuring " + ", ".join(brief.selling_points))
    if brief.tone:
        parts.append(f"{brief.tone} mood")
    if brief.audience:
        parts.append(f"appealing to {brief.audience}")
    parts.append("professional travel photography, natural light, high detail, no text")
    negative = ", ".join([*brief.must_avoid, "text", "watermark", "logo", "blurry", "distorted"])
    return ", ".join(parts), negative


def load_briefs(path: Path) -> BriefBatch:
    """Read a brief file (.yaml/.yml/.json: one brief or a list; .csv: one brief per row)."""
    path = Path(path)
    source = str(path)
    try:
        if path.exists() and not path.is_file():  # a folder, a FIFO, /dev/zero: never read
            raise ConfigError(f"Brief file {source} is not a regular file.", hint="Pass a .yaml, .json or .csv file.")
        if path.stat().st_size > MAX_BRIEF_FILE_BYTES:
            raise ConfigError(f"Brief file {source} is larger than {MAX_BRIEF_FILE_BYTES >> 20} MB.",
                              hint="Split the batch into several files.")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"Brief file {source} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Brief file {source} cannot be read: {exc}.",
                          hint="Save it as UTF-8 text (YAML, JSON or CSV).") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _from_csv(text, source)
    if suffix not in (".yaml", ".yml", ".json"):
        raise ConfigError(f"Brief file {source} has an unknown type {suffix or '(none)'}.",
                          hint="Use .yaml, .yml, .json or .csv.")
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"Brief file {source} is not valid {suffix[1:].upper()}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"Brief file {source} is nested too deeply to be a brief.") from None
    return parse_briefs(data, source)


def parse_briefs(data: Any, source: str = "request") -> BriefBatch:
    """Validate already-parsed data: one brief (a mapping), a list of them, or ``{"briefs": [...]}``."""
    if isinstance(data, dict) and set(data) == {"briefs"}:
        data = data["briefs"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{source} holds no briefs.",
                          hint="Give one brief (a mapping with id and subject) or a list of them.")
    return _validate([(f"brief {i}", item) for i, item in enumerate(data, start=1)], source)


def _from_csv(text: str, source: str) -> BriefBatch:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ConfigError(f"{source} is an empty CSV file.", hint="The first row names the fields: id,subject,...")
    rows = []
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        if None in row:
            rows.append((f"row {number}", ValueError("more cells than header columns")))
            continue
        item: dict[str, Any] = {}
        for key, value in row.items():
            key = (key or "").strip()
            value = (value or "").strip()
            if not value:
                continue
            item[key] = [v.strip() for v in re.split(r"[;\n]", value) if v.strip()] if key in LIST_FIELDS else value
        if item:
            rows.append((f"row {number}", item))
    if not rows:
        raise ConfigError(f"{source} has a header but no briefs.")
    return _validate(rows, source)


def _validate(items: list[tuple[str, Any]], source: str) -> BriefBatch:
    batch = BriefBatch(source)
    seen: dict[str, str] = {}
    for label, item in items:
        if isinstance(item, ValueError):
            batch.errors.append(BriefError(source, label, "", str(item)))
            continue
        if not isinstance(item, dict):
            batch.errors.append(BriefError(source, label, "", "expected a mapping of fields (id, subject, ...)"))
            continue
        raw_id = item.get("id")
        name = f"{label} (id {raw_id})" if isinstance(raw_id, str) and raw_id.strip() else label
        try:
            brief = Brief.model_validate(item)
        except ValidationError as exc:
            for problem in exc.errors():
                loc = ".".join(str(p) for p in problem["loc"])
                message = problem["msg"].removeprefix("Value error, ")
                if problem["type"] == "extra_forbidden":
                    message = f"unknown field; known fields: {', '.join(Brief.model_fields)}"
                batch.errors.append(BriefError(source, name, loc, message))
            continue
        if brief.id in seen:
            batch.errors.append(BriefError(source, name, "id", f"duplicate id {brief.id!r} (first used by {seen[brief.id]})"))
            continue
        seen[brief.id] = label
        batch.briefs.append(brief)
    return batch
