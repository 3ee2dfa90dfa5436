"""Reads of stored brand-safety verdicts: one asset's (the detail view), and the flagged list."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from indexer.errors import AssetNotFound
from indexer.library import Library


@dataclass(frozen=True)
class AssetSafety:
    verdict: str | None  # None: not judged yet, or the check failed (``error``)
    categories: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)  # {key, verdict, why, signals: [{source, score, evidence}]}
    policy: str | None = None
    error: str | None = None
    judged_at: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def asset_safety(library: Library, asset_id: int) -> AssetSafety:
    asset = library.catalog.asset(asset_id)
    if asset is None:
        raise AssetNotFound(f"No asset with id {asset_id}.")
    row = library.catalog.safety(asset.hash)
    if row is None:
        return AssetSafety(None)
    return AssetSafety(row.verdict, row.categories, row.contexts, row.reasons, row.policy, row.error, row.at)


def flagged(library: Library, limit: int = 1000) -> list[tuple[int, str, AssetSafety]]:
    """(asset id, path, safety) of every asset judged review or block, blocks first."""
    return [(asset_id, path, AssetSafety(row.verdict, row.categories, row.contexts, row.reasons, row.policy,
                                         row.error, row.at))
            for asset_id, path, row in library.catalog.flagged_assets(limit)]
