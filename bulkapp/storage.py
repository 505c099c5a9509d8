"""Where uploads wait for their import: a directory (``UPLOAD_DIR``) under random names."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from flask import current_app


def store_upload(stream: BinaryIO, extension: str) -> tuple[Path, int]:
    """Copy ``stream`` into ``UPLOAD_DIR`` under a random name; returns (path, size)."""
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    path = upload_dir / f"{uuid.uuid4().hex}{extension}"
    with open(path, "wb") as out:
        shutil.copyfileobj(stream, out, length=1024 * 1024)
    return path, path.stat().st_size
