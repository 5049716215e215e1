"""Which REFI-QDA file a path is, if any (`sniff`), told without loading the REFI-QDA reader
(coder/refi.py, with its XML and zip machinery): `init --codebook`, `codebook load` and
`import` ask this of every file, and most files are YAML, CSV or transcripts."""
from __future__ import annotations

import os
import stat
from pathlib import Path

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"


def sniff(path) -> str | None:
    """"qdpx", "qdc" or "qde" (a bare project.qde) when the file is REFI-QDA, by its name or its
    first bytes; None for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in (".qdpx", ".qdc", ".qde"):
        return suffix[1:]
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO or a device to look inside
            return None
        with open(path, "rb") as stream:
            head = stream.read(4096)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                names = {n.casefold() for n in archive.namelist()}
        except (zipfile.BadZipFile, OSError):
            return None
        return "qdpx" if "project.qde" in names else None
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        if NS_CODEBOOK in text:
            return "qdc"
        if NS_PROJECT in text:
            return "qde"
    return None
