"""A cache kept on disk between runs (``check --drift``'s builds and command lists), read as
untrusted input.

An entry is one file named by its key: the SHA-256 of everything its content derives from, so a
changed input is a new key, never a stale hit. The file holds one header line (this format's
magic word, the cache's kind and version, the payload's length and SHA-256), then the payload.
An entry that is not a regular file, or whose header, kind, version, length or checksum does not
match (truncated, edited, written by another version), is ignored: the caller builds the value
again and writes the entry anew. Entries are written to a temporary file and renamed into place
(atomic on POSIX: https://docs.python.org/3/library/os.html#os.replace), so a run killed while
writing leaves no half entry under the key.

The checksum finds damage, not forgery: whoever can write the cache folder can write a
consistent entry, as they could replace the rendered services beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import threading
from pathlib import Path

MAGIC = b"service-runbooks-cache"
_KEY = re.compile(r"[0-9a-f]{64}")
_HEADER_MAX = 256


class FileCache:
    """Payloads by key under ``folder``, of one ``kind`` and format ``version``."""

    def __init__(self, folder: Path, kind: str, version: int, suffix: str) -> None:
        self.folder = folder
        self.kind = kind
        self.version = version
        self.suffix = suffix
        self.ignored = 0  # entries found damaged or foreign this run
        self.unwritten = 0  # entries that could not be written (the run goes on without)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"cache key {key!r} is not a SHA-256 in hex")
        return self.folder / f"{key}{self.suffix}"

    def _header(self, payload: bytes) -> bytes:
        checksum = hashlib.sha256(payload).hexdigest()
        return b"%s %s v%d %d %s\n" % (
            MAGIC,
            self.kind.encode(),
            self.version,
            len(payload),
            checksum.encode(),
        )

    def get(self, key: str, max_bytes: int) -> bytes | None:
        """The payload stored under ``key``, or None when there is none or it is not intact
        (nor longer than ``max_bytes``)."""
        path = self._path(key)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None  # absent, or a link (O_NOFOLLOW refuses it)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                self.ignored += 1
                return None
            header = handle.readline(_HEADER_MAX)
            length = self._length(header)
            payload = handle.read(length + 1) if 0 <= length <= max_bytes else b""
        if length < 0 or length > max_bytes or header != self._header(payload):
            self.ignored += 1
            return None
        return payload

    def _length(self, header: bytes) -> int:
        """The payload length a header of this kind and version gives, else -1."""
        words = header.split(b" ")
        prefix = [MAGIC, self.kind.encode(), b"v%d" % self.version]
        if len(words) != 5 or words[:3] != prefix or not words[3].isdigit():
            return -1
        return int(words[3])

    def put(self, key: str, payload: bytes) -> None:
        """Store ``payload`` under ``key``; a folder that cannot be written only costs speed."""
        path = self._path(key)
        temporary = self.folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(self._header(payload) + payload)
            os.replace(temporary, path)
        except OSError:
            self.unwritten += 1
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
