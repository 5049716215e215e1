"""`coder export segments --xlsx` at scale (issue 19): the workbook goes into the output file
as openpyxl makes it, never into bytes held whole first (a corpus of 2,000,000 segments makes
a workbook of hundreds of megabytes)."""
from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook


def test_export_segments_xlsx_is_written_into_the_file_not_into_memory(loaded, monkeypatch):
    from openpyxl import Workbook

    assert loaded.run("code", "add", "hamar_1", "4", "two_bosses").exit_code == 0
    targets = []
    save = Workbook.save

    def recording_save(self, target):
        targets.append(target)
        return save(self, target)

    monkeypatch.setattr(Workbook, "save", recording_save)
    result = loaded.run("export", "segments", "--xlsx", "--out", "segments.xlsx")
    assert result.exit_code == 0, result.stderr
    assert len(targets) == 1 and not isinstance(targets[0], io.BytesIO)
    assert zipfile.is_zipfile(loaded.root / "segments.xlsx")
    rows = list(load_workbook(loaded.root / "segments.xlsx", read_only=True).active.values)
    assert rows[0][:3] == ("transcript", "case", "informant")
    assert len(rows) - 1 == int(result.stderr.split("wrote ")[1].split(" ")[0])
