"""What goes into the catalog and what comes out of it: write batches and read rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# "This asset's content was generated", as a clause over assets ``a``: used for the generated flag
# of every AssetRow and by the search filter, so both read the same table the same way.
GENERATED_CLAUSE = "EXISTS (SELECT 1 FROM provenance p WHERE p.hash = a.hash)"


# What the catalog remembers of a path, enough to decide "unchanged" from a stat alone:
# (size, mtime_ns, kind) with kind "asset" | "failure" | "ignored". A plain tuple because a
# re-run builds one per file, and 100 000 of anything fancier costs a visible fraction of a second.
KnownFile = tuple[int, int, str]


@dataclass(frozen=True)
class ContentWrite:
    hash: str
    format: str
    width: int
    height: int
    mode: str
    vector: np.ndarray
    thumbnail: str | None


@dataclass(frozen=True)
class FileWrite:
    """A file as scanned: where it is and the stat that identifies this version of it."""

    path: str
    root: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FailureWrite:
    file: FileWrite
    reason: str
    message: str
    hint: str | None


@dataclass
class Batch:
    """Everything one commit writes. Contents go first so an asset never points at nothing."""

    contents: list[ContentWrite] = field(default_factory=list)
    assets: list[tuple[FileWrite, str]] = field(default_factory=list)
    failures: list[FailureWrite] = field(default_factory=list)
    ignored: list[FileWrite] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.contents) + len(self.assets) + len(self.failures) + len(self.ignored)


@dataclass(frozen=True)
class AssetRow:
    id: int
    path: str
    root: str
    folder: str
    name: str
    size: int
    mtime_ns: int
    hash: str
    format: str
    width: int
    height: int
    thumbnail: str | None
    indexed_at: float
    generated: bool = False  # made by a generator (has provenance), not a photo from the library

    def __post_init__(self) -> None:
        object.__setattr__(self, "generated", bool(self.generated))  # SQLite hands back 0 / 1

    @property
    def orientation(self) -> str:
        """landscape / portrait / square, with 5 % slack so 1000x990 still counts as square."""
        if self.width > self.height * 1.05:
            return "landscape"
        if self.height > self.width * 1.05:
            return "portrait"
        return "square"


@dataclass(frozen=True)
class FailureRow:
    path: str
    reason: str
    message: str
    hint: str | None
    at: float


ASSET_COLUMNS = (
    "a.id, a.path, a.root, a.folder, a.name, a.size, a.mtime_ns, a.hash, "
    "c.format, c.width, c.height, c.thumbnail, a.indexed_at, "
    f"{GENERATED_CLAUSE}"
)
