"""The English pipeline is checked before it is loaded: a changed or missing file is one clear error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bot.extract._nlp import MANIFEST, ModelError, model_root, verify


def _manifest(tmp_path: Path, files: dict[str, str]) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"version": "3.8.0", "files": files}), encoding="utf-8")
    return path


def test_the_installed_pipeline_matches_the_committed_checksums() -> None:
    data = verify(model_root())
    assert (data / "config.cfg").is_file()
    assert len(json.loads(MANIFEST.read_text(encoding="utf-8"))["files"]) >= 20


def test_a_changed_file_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "parser").mkdir()
    (tmp_path / "parser" / "model").write_bytes(b"weights, tampered")
    manifest = _manifest(tmp_path, {"parser/model": hashlib.sha256(b"weights").hexdigest()})
    with pytest.raises(ModelError, match=r"parser/model differs from the committed checksum"):
        verify(tmp_path, manifest)


def test_a_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, {"ner/model": "0" * 64})
    with pytest.raises(ModelError, match=r"ner/model: cannot be read"):
        verify(tmp_path, manifest)
