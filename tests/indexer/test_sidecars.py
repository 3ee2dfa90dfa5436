"""XMP sidecars: written next to the file, merged with one that exists, read back by an
independent XMP reader (ElementTree over the RDF, and exiftool when installed)."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from indexer.sidecars import SidecarError, Subjects, sidecar_path, subjects_for_tags, write_sidecar
from tests.conftest import pattern_image

NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dc": "http://purl.org/dc/elements/1.1/",
      "lr": "http://ns.adobe.com/lightroom/1.0/", "xmp": "http://ns.adobe.com/xap/1.0/",
      "darktable": "http://darktable.sf.net/"}

# What darktable leaves next to a photo: its own history and a rating, and a keyword.
DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="3"
   darktable:xmp_version="5">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>client-acme</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def read_list(path, tag: str) -> list[str]:
    root = ET.parse(path).getroot()
    return [li.text for node in root.iter(tag) for li in node.iter(f"{{{NS['rdf']}}}li")]


def photo(tmp_path, name="beach.jpg"):
    path = tmp_path / name
    pattern_image(1).save(path, "JPEG")
    return path


def test_a_new_sidecar_holds_the_subjects_and_the_original_is_untouched(tmp_path):
    original = photo(tmp_path)
    before = original.read_bytes()
    subjects = subjects_for_tags(["beach", "sunset"], {"beach": "scene", "scene": None, "sunset": "time of day"})
    assert write_sidecar(original, subjects) == "created"
    sidecar = sidecar_path(original)
    assert sidecar.name == "beach.jpg.xmp"
    assert read_list(sidecar, f"{{{NS['dc']}}}subject") == ["scene", "beach", "time of day", "sunset"]
    assert read_list(sidecar, f"{{{NS['lr']}}}hierarchicalSubject") == ["scene|beach", "time of day|sunset"]
    assert original.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*.tmp"))


def test_an_existing_sidecar_is_merged_not_replaced(tmp_path):
    original = photo(tmp_path)
    sidecar = sidecar_path(original)
    sidecar.write_text(DARKTABLE, encoding="utf-8")
    assert write_sidecar(original, Subjects(("beach", "client-acme"), ("scene|beach",))) == "merged"
    assert read_list(sidecar, f"{{{NS['dc']}}}subject") == ["client-acme", "beach"]
    assert read_list(sidecar, f"{{{NS['lr']}}}hierarchicalSubject") == ["scene|beach"]
    root = ET.parse(sidecar).getroot()
    description = root.find(".//rdf:Description", NS)
    assert description.get(f"{{{NS['xmp']}}}Rating") == "3" or root.find(".//xmp:Rating", NS).text == "3"
    history = [li for node in root.iter(f"{{{NS['darktable']}}}history") for li in node.iter(f"{{{NS['rdf']}}}li")]
    assert len(history) == 1
    written = sidecar.read_bytes()
    assert write_sidecar(original, Subjects(("beach",))) == "unchanged"
    assert sidecar.read_bytes() == written


def test_a_damaged_sidecar_is_a_clear_error_and_stays_as_it_was(tmp_path):
    original = photo(tmp_path)
    sidecar = sidecar_path(original)
    sidecar.write_text("<x:xmpmeta this is not xml", encoding="utf-8")
    with pytest.raises(SidecarError) as caught:
        write_sidecar(original, Subjects(("beach",)))
    assert "beach.jpg.xmp" in caught.value.message
    assert sidecar.read_text(encoding="utf-8") == "<x:xmpmeta this is not xml"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_exiftool_reads_the_sidecar(tmp_path):
    original = photo(tmp_path)
    write_sidecar(original, Subjects(("beach", "sea"), ("scene|beach",)))
    out = subprocess.run(["exiftool", "-s", "-Subject", "-HierarchicalSubject", str(sidecar_path(original))],
                         capture_output=True, text=True, check=True).stdout
    assert "beach, sea" in out and "scene|beach" in out
