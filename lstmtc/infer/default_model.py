"""Where the model shipped inside the package lives (artifacts/ag_news, installed as
``lstmtc.default_model``)."""

from __future__ import annotations

from pathlib import Path

from .errors import BundleError


def default_bundle_path() -> Path:
    try:
        import lstmtc.default_model as pkg

        path = Path(pkg.__file__).parent
    except ImportError:
        path = None
    if path is None or not (path / "bundle.json").exists():
        raise BundleError("no --model was given and the bundled default model is missing from this install; "
                          "pass --model BUNDLE (a directory made by lstmtc-export)")
    return path
