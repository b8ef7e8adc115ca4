"""The fields ``techdocs-cli generate`` adds to a site's ``techdocs_metadata.json``.

``service-runbooks build`` runs MkDocs with techdocs-core itself (techdocs-core writes the file
with site_name and site_description), so it adds what techdocs-cli's generator adds after MkDocs
(@backstage/plugin-techdocs-node 1.15.5, dist/stages/generate/helpers.cjs.js, as pinned by
package-lock.json; techdocs-cli 1.8.15's generate runs ``TechdocsGenerator.run``,
dist/stages/generate/techdocs.cjs.js, which calls them once MkDocs is done):

- ``createOrUpdateMetadata``: ``build_timestamp = Date.now()`` (milliseconds since the epoch) and
  ``files``: ``getFileTreeRecursively`` (dist/stages/publish/helpers.cjs.js, recursive-readdir
  2.2.3) of the site folder, each path made relative. That lists every entry that is not a
  folder, hidden ones too, and the metadata file itself (it is created before the listing);
  recursive-readdir returns them in the order its stat calls finish, so the order means
  nothing and is sorted here (the same site gives the same bytes, which the shard comparison
  relies on). It stats through links; a site's links are never followed here (none are made:
  MkDocs copies files), a link is listed as the entry it is.
- ``storeEtagMetadata``: ``etag``, the ``--etag`` value, "a unique identifier for the prepared
  tree". The fleet's is the digest of the service's docs sources (mkdocs.yml, docs/, the MkDocs
  tools' versions) that ``build`` keeps per site to skip unchanged services, so it changes when
  and only when what the site is built from changes.

What Backstage's TechDocs backend does with them, read from storage:

- ``build_timestamp`` and ``files``: with ``techdocs.builder: external`` and a cache
  (``techdocs.cache.ttl``), each ``/sync`` compares the stored and the cached build_timestamp
  and, when they differ, invalidates every cached path of both ``files`` lists
  (https://github.com/backstage/backstage/blob/0e452ad6eb37b9cc307d7dbaef4263509db9287f/plugins/techdocs-backend/src/service/DocsSynchronizer.ts,
  ``doCacheSync``; called from ``/sync`` in
  https://github.com/backstage/backstage/blob/a82544379954220761c97c8f8926775aa29a847d/plugins/techdocs-backend/src/service/router.ts).
  Without build_timestamp both sides are ``undefined``, equal, so a republished site is served
  from the stale cache until its TTL ends; without files nothing is invalidated either.
- ``etag``: with ``techdocs.builder: local`` it is handed to the preparer to decide whether to
  build again (``DocsBuilder.build``,
  https://github.com/backstage/backstage/blob/d8cfac252a8b80000dd58180a225bc12dff41abc/plugins/techdocs-backend/src/DocsBuilder/builder.ts);
  a digest that is no source-control etag makes that builder build once and store its own.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from service_runbooks.fleet.workdir import write_atomic

METADATA = "techdocs_metadata.json"
GENERATED_FIELDS = ("build_timestamp", "files", "etag")  # what generate adds to techdocs-core's


def site_files(site: Path) -> list[str]:
    """Every entry of ``site`` that is not a folder, as paths relative to it, sorted."""
    found: list[str] = []
    for entry in os.scandir(site):
        if entry.is_dir(follow_symlinks=False):
            found += [f"{entry.name}/{rel}" for rel in site_files(Path(entry.path))]
        else:
            found.append(entry.name)
    return sorted(found)


def add_generate_fields(site: Path, etag: str) -> None:
    """Add build_timestamp, files and etag to ``site``'s techdocs_metadata.json as techdocs-cli
    generate does (creating it when missing), written as fs-extra's writeJson does: compact
    JSON and a final newline, other fields and their order kept. Written to a new file renamed
    into place, so no other name of the old file (a hard link) sees the change."""
    path = site / METADATA
    metadata: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    metadata["build_timestamp"] = time.time_ns() // 1_000_000
    metadata["files"] = sorted({*site_files(site), METADATA})
    metadata["etag"] = etag
    text = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))
    write_atomic(path, text + "\n")


def lacks_generate_fields(site: Path) -> bool:
    """Whether ``site`` was built without the generate fields (before ``build`` added them)."""
    try:
        metadata = json.loads((site / METADATA).read_text("utf-8"))
    except (OSError, ValueError):
        return True
    return not isinstance(metadata, dict) or any(key not in metadata for key in GENERATED_FIELDS)
