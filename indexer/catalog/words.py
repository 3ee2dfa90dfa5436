"""The keyword index: one FTS5 document per asset in ``asset_words`` (rowid = asset id).

Columns, so a hit can say where it matched:

* ``name``: the file name without its extension, split on separators, case changes and digits
  ("SummerSale_2026-v2.jpg" -> "summersale summer sale 2026 v2"; the joined word is kept too, so
  "summersale" finds it as well as "summer sale").
* ``folder``: the folders from the root down to the file, split the same way, after the root
  folder's own name (a campaign or client is often the root itself).
* ``keywords``: title, description and keywords embedded in the file (``media_meta``).
* ``ocr``: the text read in the image (``ocr``).
  Text fields keep their text as read (for snippets), followed by the pieces of any word that
  splits: OCR often loses the space between words of a headline ("OPEN24HOURS" -> also "open 24
  hours"), and embedded keywords are sometimes written "SummerSale".
* ``tags``: tags a person accepted (``tag_decisions``); the model's suggestions are left out: they
  come from the same vectors the meaning side already ranks by.

The documents follow their sources: an index batch rewrites the documents of the paths it writes,
``forget`` and paths turning into failures drop theirs, and a content pass that writes ``ocr`` or
``media_meta`` rows calls :meth:`WordTables.refresh_words` with the hashes it wrote. A change of
what a document holds bumps ``WORDS_VERSION``, and the next writable open rebuilds every document
once (also how a library made before the keyword index gets one).
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Iterable

import numpy as np

# Bump when a document's contents change (tokenisation, fields): every document is rebuilt once.
WORDS_VERSION = "2"
WORD_COLUMNS = ("name", "folder", "keywords", "ocr", "tags")

# A run of letters and digits: what the unicode61 tokenizer keeps as one token (search.keyword
# cuts user text with it too).
WORD_RUN = re.compile(r"[^\W_]+")
_SELECT = (
    "SELECT a.id, a.name, a.folder, a.root, m.title, m.description, m.keywords, o.text, "
    "(SELECT group_concat(d.tag, ', ') FROM tag_decisions d WHERE d.hash = a.hash AND d.decision = 'accepted') "
    "FROM assets a LEFT JOIN media_meta m ON m.hash = a.hash LEFT JOIN ocr o ON o.hash = a.hash "
)
_INSERT = "INSERT INTO asset_words (rowid, name, folder, keywords, ocr, tags) VALUES (?, ?, ?, ?, ?, ?)"
_STEP = 900  # ids or hashes per IN (...) list, under SQLite's parameter limit


def _boundary(prev: str, char: str, after: str) -> bool:
    """Whether a word starts at ``char``: a digit run starts or ends, a lower-case letter is
    followed by a capital ("summerSale"), or a run of capitals ends in a capitalised word
    ("HTMLPage" -> "HTML Page")."""
    if prev.isdigit() != char.isdigit():
        return True
    if prev.islower() and char.isupper():
        return True
    return prev.isupper() and char.isupper() and after.islower()


def split_words(text: str) -> list[str]:
    """Lower-case words of a file or folder name: each run of letters and digits, then (when it
    splits further) its pieces at case changes and digits. Single letters cut off a digit ("v"
    of "v2") are dropped: they would match nearly every query holding that letter."""
    words: list[str] = []
    for chunk in WORD_RUN.findall(text):
        pieces, start = [], 0
        for i in range(1, len(chunk)):
            if _boundary(chunk[i - 1], chunk[i], chunk[i + 1] if i + 1 < len(chunk) else ""):
                pieces.append(chunk[start:i])
                start = i
        pieces.append(chunk[start:])
        words.append(chunk.lower())
        if len(pieces) > 1:
            words += [p.lower() for p in pieces if len(p) > 1 or p.isdigit()]
    return words


def name_words(name: str) -> str:
    return " ".join(split_words(PurePath(name).stem))


def folder_words(folder: str, root: str) -> str:
    """The root folder's own name, then every folder below it down to ``folder``."""
    folder_path, root_path = PurePath(folder), PurePath(root)
    try:
        below = folder_path.relative_to(root_path).parts
    except ValueError:
        return " ".join(split_words(folder_path.name))
    return " ".join(split_words(" ".join((root_path.name, *below))))


def keyword_text(title: str | None, description: str | None, keywords: str | None) -> str:
    """Title, description and the embedded keywords (a JSON list, or plain text if it is not)."""
    try:
        listed = json.loads(keywords) if keywords else []
    except ValueError:
        listed = [keywords]
    if not isinstance(listed, list):
        listed = [listed]
    return "\n".join(str(x) for x in (title, description, *listed) if x)


def with_pieces(text: str) -> str:
    """``text`` as it is, then the pieces of each of its words that splits (see ``split_words``)."""
    pieces = [piece for chunk in WORD_RUN.findall(text) for piece in split_words(chunk)[1:]]
    return f"{text}\n{' '.join(pieces)}" if pieces else text


def _document(row: tuple) -> tuple:
    asset_id, name, folder, root, title, description, keywords, ocr, tags = row
    return (asset_id, name_words(name or ""), folder_words(folder or "", root or ""),
            with_pieces(keyword_text(title, description, keywords)), with_pieces(ocr or ""), tags or "")


class WordTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""

    def refresh_words(self, hashes: Iterable[str]) -> None:
        """Rebuild the documents of every asset holding one of these contents (after a pass
        wrote their ``ocr`` or ``media_meta`` rows, or people decided on their tags). Joins the caller's transaction if any."""
        hashes = list(dict.fromkeys(hashes))
        with self.db.atomic():
            for start in range(0, len(hashes), _STEP):
                part = hashes[start : start + _STEP]
                self._write_words(f"a.hash IN ({','.join('?' * len(part))})", part)

    def _words_for_paths(self, paths: list[str]) -> None:
        """Inside a write transaction: rebuild the documents of the assets at ``paths``."""
        for start in range(0, len(paths), _STEP):
            part = paths[start : start + _STEP]
            self._write_words(f"a.path IN ({','.join('?' * len(part))})", part)

    def _drop_words(self, asset_ids: list[int]) -> None:
        """Inside a write transaction: remove the documents of assets leaving the catalog."""
        self.db.conn.executemany("DELETE FROM asset_words WHERE rowid = ?", [(i,) for i in asset_ids])

    def _write_words(self, where: str, params: list) -> None:
        documents = [_document(row) for row in self.db.execute(_SELECT + "WHERE " + where, params)]
        self._drop_words([d[0] for d in documents])
        self.db.conn.executemany(_INSERT, documents)

    def ensure_words(self) -> bool:
        """Rebuild every document when they were made by another ``WORDS_VERSION`` (or never, in
        a library from before the keyword index). Returns whether it rebuilt."""
        if self.get_meta("words_version") == WORDS_VERSION:
            return False
        with self.db.atomic():
            self.db.execute("DELETE FROM asset_words")
            cursor = self.db.execute(_SELECT)
            while rows := cursor.fetchmany(10_000):
                self.db.conn.executemany(_INSERT, [_document(row) for row in rows])
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('words_version', ?)",
                            [WORDS_VERSION])
        self.optimize_words()
        return True

    def optimize_words(self) -> None:
        """Merge the keyword index into one segment (FTS5 ``optimize``); called at the end of an
        index run. Every commit adds a small segment and a query looks a word up in each: after
        1,500 commits of 64 documents, 6-28 ms a query, 0.2-0.6 ms once merged (BENCHMARKS.md
        "Hybrid search"). Nearly free when nothing changed; 0.3 s at 100 k documents otherwise."""
        with self.db.atomic():
            self.db.execute("INSERT INTO asset_words (asset_words) VALUES ('optimize')")

    # -- the searcher's view ------------------------------------------------------------------

    def keyword_ranking(self, match: str, weights: tuple[float, ...], limit: int,
                        where: str | None = None, params: list | tuple = ()) -> list[tuple[int, float]]:
        """Up to ``limit`` (asset id, bm25 score; higher is better) for an FTS5 expression built by
        ``search.keyword``, best first, among assets passing a filter clause over ``a``/``c``
        (joined only when there is one: the join doubles the cost of a common word)."""
        marks = ", ".join("?" * len(WORD_COLUMNS))
        joined = ("JOIN assets a ON a.id = w.rowid JOIN contents c ON c.hash = a.hash " if where else "")
        return [(int(i), float(s)) for i, s in self.db.execute(
            f"SELECT w.rowid, -bm25(asset_words, {marks}) AS s FROM asset_words w {joined}"
            f"WHERE asset_words MATCH ? AND {where or 1} ORDER BY s DESC, w.rowid LIMIT ?",
            [*weights, match, *params, limit])]

    def keyword_ids(self, match: str) -> np.ndarray:
        """Every asset id whose document satisfies an FTS5 expression built by ``search.keyword``."""
        rows = self.db.execute("SELECT rowid FROM asset_words WHERE asset_words MATCH ?", [match]).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def word_document_counts(self, terms: list[str]) -> dict[str, int]:
        """How many documents hold each (lower-case) word, from FTS5's own term index (an
        ``fts5vocab`` table in the connection's temp schema, made on first use)."""
        if not getattr(self, "_words_vocab", False):
            schema = "main" if self.db.execute(
                "SELECT 1 FROM main.sqlite_master WHERE name = 'asset_words'").fetchone() else "temp"
            self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.asset_words_vocab "
                            f"USING fts5vocab({schema}, 'asset_words', 'row')")
            self._words_vocab = True
        counts = {}
        for term in terms:
            row = self.db.execute("SELECT doc FROM temp.asset_words_vocab WHERE term = ?", [term]).fetchone()
            counts[term] = row[0] if row else 0
        return counts

    def keyword_highlights(self, ids: list[int], match: str, marks: tuple[str, str],
                           snippet_words: int = 12) -> dict[int, tuple[dict[str, str], dict[str, str]]]:
        """For each of ``ids`` matching ``match``: every field with its matches between ``marks``,
        and a snippet of up to ``snippet_words`` words around them for each field."""
        found: dict[int, tuple[dict[str, str], dict[str, str]]] = {}
        columns = ", ".join(f"highlight(asset_words, {n}, ?, ?), snippet(asset_words, {n}, ?, ?, '…', ?)"
                            for n in range(len(WORD_COLUMNS)))
        args = [x for _ in WORD_COLUMNS for x in (*marks, *marks, snippet_words)]
        for start in range(0, len(ids), _STEP):
            part = [int(i) for i in ids[start : start + _STEP]]
            for row in self.db.execute(
                f"SELECT rowid, {columns} FROM asset_words WHERE asset_words MATCH ? "
                f"AND rowid IN ({','.join('?' * len(part))})", [*args, match, *part]):
                found[row[0]] = (dict(zip(WORD_COLUMNS, row[1::2])), dict(zip(WORD_COLUMNS, row[2::2])))
        return found
