"""XMP sidecars (``photo.jpg.xmp``, darktable's and digiKam's convention): where Scout writes what
people decided about a photo so Lightroom, Bridge, darktable, digiKam and DAMs can read it.

Originals are never opened for writing. A sidecar that already exists (from darktable, Lightroom
or an earlier export) is merged, not replaced: its other properties stay as they are and Scout's
subjects are added to its own ``dc:subject`` and ``lr:hierarchicalSubject`` lists (nothing is
removed from them). The merge is written to a temporary file next to the sidecar and renamed over
it, so a crash leaves the old sidecar or the new one, never half of one; a sidecar already holding
every subject is not rewritten at all. The new file keeps the old one's permission bits (a new
sidecar gets the umask's, like any file the user creates), and a sidecar that is a symbolic link
or read-only is refused, not replaced: a link may point anywhere (outside the library, at a file
an attacker wants copied or overwritten) and read-only is how a person says "leave this alone".

XMP is read and written by exiv2 (pyexiv2), never by string handling of our own; exiv2 writes new
lists as ``rdf:Seq`` (pyexiv2 offers no way to ask for the ``rdf:Bag`` the schema names), which
every reader tried (exiftool, exiv2, ElementTree) reads as the same list.

What the subjects are is the caller's choice (:class:`Subjects`): confirmed tags, with the
taxonomy's hierarchy as "parent|child" paths (:func:`subjects_for_tags`).
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import ConfigError
from indexer.metadata import EXIV2_LOCK

SUBJECT = "Xmp.dc.subject"
HIERARCHY = "Xmp.lr.hierarchicalSubject"
# An empty XMP packet: the start exiv2 needs to create a sidecar (it opens files, it does not
# create them). Not parsed by Scout; exiv2 reads it.
EMPTY_PACKET = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
                '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
                'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>\n<?xpacket end="w"?>\n')


@dataclass(frozen=True)
class Subjects:
    """What to add to one photo's sidecar: flat keywords and "parent|child" hierarchy paths."""

    flat: tuple[str, ...] = ()
    hierarchical: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.flat or self.hierarchical)


def subjects_for_tags(tags: list[str], parents: dict[str, str | None]) -> Subjects:
    """Tags as sidecar subjects: each tag and its ancestors in ``dc:subject`` (Lightroom's own
    habit, so a search for "scene" finds a "beach"), the full path in ``lr:hierarchicalSubject``."""
    flat: dict[str, None] = {}
    paths: dict[str, None] = {}
    for tag in tags:
        chain, node, seen = [], tag, set()
        while node is not None and node not in seen:
            seen.add(node)
            chain.append(node)
            node = parents.get(node)
        chain.reverse()
        flat.update(dict.fromkeys(chain))
        if len(chain) > 1:
            paths["|".join(chain)] = None
    return Subjects(tuple(flat), tuple(paths))


def sidecar_path(original: str | Path) -> Path:
    return Path(f"{original}.xmp")


class SidecarError(ConfigError):
    """A sidecar could not be read or written (permissions, a damaged sidecar)."""


def _merged(existing: object, adding: tuple[str, ...]) -> list[str] | None:
    """``existing`` with ``adding`` appended (each once, case-sensitively, as XMP compares); None
    when nothing is new."""
    current = [str(x) for x in existing] if isinstance(existing, list) else ([str(existing)] if existing else [])
    new = [x for x in dict.fromkeys(adding) if x not in current]
    return current + new if new else None


def _existing(target: Path) -> os.stat_result | None:
    """The sidecar's own status (never its link target's), None when there is none yet; refuses
    a link, anything but a regular file, and a read-only file."""
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(found.st_mode):
        raise SidecarError(f"Not writing {target}: it is a symbolic link.",
                           hint="Replace the link with the sidecar file itself, or remove it.")
    if not stat.S_ISREG(found.st_mode):
        raise SidecarError(f"Not writing {target}: it is not a regular file.", hint="Move it out of the way.")
    if not found.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise SidecarError(f"Not writing {target}: it is read-only.",
                           hint="Make it writable (chmod u+w) if Scout may add its subjects to it.")
    return found


def _read_no_follow(target: Path) -> bytes:
    """The sidecar's bytes, refusing (ELOOP) a link that appeared since it was checked."""
    fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def write_sidecar(original: str | Path, subjects: Subjects) -> str:
    """Add ``subjects`` to the sidecar of ``original``; returns "created", "merged" or "unchanged"."""
    import pyexiv2

    target = sidecar_path(original)
    temp = None
    try:
        existing = _existing(target)
        temp = str(target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp"))
        # os.open's mode goes through the umask (mkstemp's 0600 would hide a new sidecar from
        # the other tools and users it is written for); an existing sidecar keeps its own bits.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_read_no_follow(target) if existing else EMPTY_PACKET.encode("utf-8"))
        if existing:
            os.chmod(temp, stat.S_IMODE(existing.st_mode))
        exists = existing is not None
        with EXIV2_LOCK:
            image = pyexiv2.Image(temp)
            try:
                current = image.read_xmp()
                changes = {key: value for key, value in (
                    (SUBJECT, _merged(current.get(SUBJECT), subjects.flat)),
                    (HIERARCHY, _merged(current.get(HIERARCHY), subjects.hierarchical))) if value}
                if changes:
                    image.modify_xmp(changes)
            finally:
                image.close()
        if not changes:
            return "unchanged"
        os.replace(temp, target)
        temp = None
        return "merged" if exists else "created"
    except (OSError, RuntimeError) as exc:
        raise SidecarError(f"Cannot write {target}: {exc}",
                           hint="Check that the folder is writable and the existing sidecar is valid XMP.") from None
    finally:
        if temp is not None and os.path.lexists(temp):
            os.unlink(temp)
