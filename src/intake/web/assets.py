"""Static assets: building the Designsystemet bundle and serving files from memory.

Why not a CDN or the whole CSS package: the pages must load no third-party asset and stay under
100 KB. ``python -m intake.web.assets build`` takes only the components the pages use from the
pinned ``@digdir/designsystemet-css`` in ``node_modules`` (see ``package.json``), drops the dark
colour scheme (the pages set ``data-color-scheme="light"``) and writes ``static/ds.css``, which is
committed so the service never needs Node at run time.

At run time every file in ``static/`` is read once, fingerprinted (so it can be cached for a year)
and gzipped once, so a request for a stylesheet costs a dictionary lookup.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
DS_PACKAGE = "@digdir/designsystemet-css"

#: The Designsystemet components the pages use, in cascade order.
COMPONENTS = (
    "base",
    "heading",
    "paragraph",
    "link",
    "list",
    "skip-link",
    "button",
    "label",
    "field",
    "fieldset",
    "input",
    "validation-message",
    "error-summary",
    "alert",
    "card",
    "details",
    "tag",
)

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
}


def _without_block(css: str, opening: str) -> str:
    """Remove one top-level ``opening{…}`` block by brace counting (the CSS is minified)."""
    start = css.find(opening + "{")
    if start < 0:
        return css
    depth, i = 0, start + len(opening)
    while True:
        if css[i] == "{":
            depth += 1
        elif css[i] == "}":
            depth -= 1
            if depth == 0:
                return css[:start] + css[i + 1 :]
        i += 1


def build(node_modules: Path = NODE_MODULES, out: Path = STATIC_DIR / "ds.css") -> int:
    """Write the trimmed Designsystemet bundle; returns its size in bytes."""
    package = node_modules / DS_PACKAGE
    version = json.loads((package / "package.json").read_text())["version"]
    theme = (package / "dist" / "theme" / "designsystemet.css").read_text()
    theme = _without_block(theme, "@layer ds.theme.color-scheme.dark")
    # The brand palettes are for other services' logos and accents; the pages never use them.
    theme = re.sub(r"--ds-color-brand\d-[a-z-]+:#[0-9a-fA-F]+;?", "", theme)
    theme = re.sub(
        r"\[data-color-scheme\]\[data-color=brand\d\],\[data-color=brand\d\]\{[^}]*\}", "", theme
    )
    parts = [f"/* {DS_PACKAGE}@{version} (MIT), trimmed by intake.web.assets */", theme]
    for name in COMPONENTS:
        parts.append((package / "dist" / "src" / f"{name}.css").read_text().strip())
    text = "\n".join(parts) + "\n"
    out.write_text(text)
    return len(text.encode())


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file, ready to send."""

    name: str
    body: bytes
    gzipped: bytes
    media_type: str
    digest: str

    @property
    def url(self) -> str:
        stem, _, ext = self.name.rpartition(".")
        return f"/static/{stem}.{self.digest}.{ext}"


def load(directory: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every static file keyed by its fingerprinted URL *and* its plain name."""
    assets: dict[str, Asset] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix not in _TYPES or not path.is_file():
            continue
        body = path.read_bytes()
        asset = Asset(
            name=path.name,
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            media_type=_TYPES[path.suffix],
            digest=hashlib.sha256(body).hexdigest()[:10],
        )
        assets[asset.name] = asset
        assets[asset.url] = asset
    return assets


if __name__ == "__main__":  # pragma: no cover - a developer tool
    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python -m intake.web.assets build")
    print(f"static/ds.css: {build()} bytes")
