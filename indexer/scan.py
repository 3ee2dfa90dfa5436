"""Walk library roots and tell image files from everything else by their first bytes.

The walk follows symlinks (photographers link shoots into project folders) but remembers every
directory it entered by (device, inode), so a link loop or a second link to the same folder is
visited once. Names starting with "." are skipped: they are caches, sidecars and trash
(.Trash, .thumbnails, .git), never deliverables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# Extensions that promise an image. A file with one of these that is not an image by content is
# reported ("not an image"); a file without one is indexed if its bytes say it is an image.
IMAGE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".webp", ".tif", ".tiff",
    ".bmp", ".dib", ".jp2", ".j2k", ".jpx", ".jpf", ".pbm", ".pgm", ".ppm", ".pnm", ".pam",
    ".heic", ".heif", ".avif", ".ico", ".tga", ".psd", ".dng", ".cr2", ".cr3", ".nef",
    ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2", ".pef", ".srw", ".x3f", ".3fr",
    ".iiq", ".erf", ".kdc", ".mrw", ".dcr",
}
RAW_EXTENSIONS = {
    ".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2",
    ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".mrw", ".dcr",
}

SNIFF_BYTES = 32


@dataclass(frozen=True)
class ScannedFile:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class ScanProblem:
    """A path the walk could not stat or enter (broken link, permission denied, a link leading
    out of the library's folders)."""

    path: str
    reason: str
    message: str
    hint: str | None = None


def inside(path: str, folders: list[str]) -> bool:
    """Whether ``path`` (already real) lies in one of ``folders`` (already real)."""
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def walk(root: Path, allowed: list[str] | None = None) -> Iterator[ScannedFile | ScanProblem]:
    """Yield every regular file below ``root`` once, depth first, in a stable order.

    One rule for links, the same the server applies when it serves files: a file belongs to the
    library only if its real path lies inside one of the library's folders (``allowed``, real
    paths; default: ``root``). A symbolic link leading elsewhere is reported, not followed, since
    its file could never be shown or downloaded.
    """
    root = Path(root)
    allowed = [os.path.realpath(f) for f in (allowed or [root])]
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            st = directory.stat()
        except OSError as exc:
            yield ScanProblem(str(directory), "unreadable", f"Cannot open folder: {exc.strerror}")
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield ScanProblem(str(directory), "unreadable", f"Cannot list folder: {exc.strerror}")
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if os.path.exists(target) and not inside(target, allowed):
                    yield ScanProblem(entry.path, "outside_roots",
                                      f"Symbolic link leads outside the library's folders (to {target}).",
                                      f"Index the target folder too (scout index {os.path.dirname(target)}) "
                                      "or copy the file into the library.")
                    continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    subdirs.append(Path(entry.path))
                    continue
                if not entry.is_file(follow_symlinks=True):
                    if entry.is_symlink():
                        yield ScanProblem(entry.path, "broken_link", "Symbolic link points nowhere.")
                    continue
                est = entry.stat(follow_symlinks=True)
            except OSError as exc:
                yield ScanProblem(entry.path, "unreadable", f"Cannot stat file: {exc.strerror}")
                continue
            yield ScannedFile(entry.path, est.st_size, est.st_mtime_ns)
        stack.extend(reversed(subdirs))


def sniff_format(head: bytes) -> str | None:
    """Name the image container from its magic bytes, or None when it is not one we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"  # also DNG, CR2, NEF, ARW and most camera RAW
    if head[:2] == b"BM":
        return "BMP"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xffO\xffQ"):
        return "JPEG2000"
    if head[:1] == b"P" and head[1:2] in b"1234567" and head[2:3] in b" \t\r\n#":
        return "PNM"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIF"
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand == b"crx ":
            return "CR3"
    if head[:4] == b"8BPS":
        return "PSD"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAF"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if head[:4] == b"IIU\x00":
        return "RW2"
    return None


def looks_like_image_name(path: str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_raw_name(path: str) -> bool:
    return Path(path).suffix.lower() in RAW_EXTENSIONS
