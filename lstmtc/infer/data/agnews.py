"""The original AG News files: where they come from, their checksums, and a verified cache."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DataError
from ..files import atomic_path, file_digest

BASE_URL = "https://raw.githubusercontent.com/mhjabreel/CharCnn_Keras/master/data/ag_news_csv"
MD5 = {"train": "b1a00f826fdfbd249f79597b59e1dc12", "test": "d52ea96a97a2d943681189a97654912d"}
ROWS = {"train": 120_000, "test": 7_600}


def default_cache_dir() -> Path:
    root = os.environ.get("LSTMTC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lstmtc"
    )
    return Path(root) / "ag_news"


def md5sum(path: Path) -> str:
    return file_digest(path, "md5")


def fetch(split: str, cache_dir: str | os.PathLike | None = None, base_url: str = BASE_URL,
          timeout: float = 60.0) -> Path:
    """Return the path of the verified original ``{split}.csv``, downloading it into the cache
    when it is not there. Without a network the error says which file to place where."""
    if split not in MD5:
        raise ValueError(f"split must be one of {sorted(MD5)}, not {split!r}")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache / f"{split}.csv"
    place_hint = f"place the original AG News {split}.csv (md5 {MD5[split]}) at {target}"
    if target.exists():
        got = md5sum(target)
        if got == MD5[split]:
            return target
        raise DataError(f"{target}: md5 {got} does not match AG News {split}.csv; delete it, or {place_hint}")
    cache.mkdir(parents=True, exist_ok=True)
    url = f"{base_url}/{split}.csv"
    try:
        with atomic_path(target) as tmp:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    out.write(block)
            got = md5sum(tmp)
            if got != MD5[split]:
                raise DataError(f"{url}: downloaded file has md5 {got}, expected {MD5[split]}; {place_hint}")
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise DataError(f"cannot download {url} ({e}); {place_hint}") from None
    return target
