"""The serving bundle: everything the recommendation API needs, written by the build.

One directory of Parquet files plus ``manifest.json`` (build id, created at, the models served
with their evaluation figures, row counts). The API reads only this, never the DuckDB file
(DuckDB allows one writer, and a build must not wait for the API). One module per job:

- ``schema``: the tables and their schemas, the manifest's name and version, where the bundle
  lives (``serving_dir``), ``BundleError``;
- ``content``: the bundle's tables from the warehouse's, GDPR lists applied (``bundle_tables``);
- ``manifest``: the models served with their headline figures, reading the manifest back, and
  refreshing it after an erasure rewrote files;
- ``writer``: the atomic write and swap (``write_bundle``);
- ``build``: the dbt step (``build_serving_bundle``).

The package re-exports their public names, so ``from amazing_analytics.serving.bundle import
...`` works as it did when the bundle was one module.
"""

from amazing_analytics.serving.bundle.build import build_serving_bundle
from amazing_analytics.serving.bundle.content import (
    EMBEDDING_NEIGHBOUR_MODELS,
    POPULAR_ALL_SIZE,
    bundle_tables,
)
from amazing_analytics.serving.bundle.manifest import (
    HEADLINE_METRICS,
    manifest_models,
    new_manifest,
    read_manifest,
    refresh_manifest,
    write_manifest_file,
)
from amazing_analytics.serving.bundle.schema import (
    BUILDS_DIR,
    FORMAT_VERSION,
    KEEP_PREVIOUS,
    MANIFEST,
    SCHEMAS,
    TMP_PREFIX,
    BundleError,
    beside_warehouse,
    conform,
    serving_dir,
)
from amazing_analytics.serving.bundle.writer import WrittenBundle, write_bundle

__all__ = [
    "BUILDS_DIR",
    "EMBEDDING_NEIGHBOUR_MODELS",
    "FORMAT_VERSION",
    "HEADLINE_METRICS",
    "KEEP_PREVIOUS",
    "MANIFEST",
    "POPULAR_ALL_SIZE",
    "SCHEMAS",
    "TMP_PREFIX",
    "BundleError",
    "WrittenBundle",
    "beside_warehouse",
    "build_serving_bundle",
    "bundle_tables",
    "conform",
    "manifest_models",
    "new_manifest",
    "read_manifest",
    "refresh_manifest",
    "serving_dir",
    "write_bundle",
    "write_manifest_file",
]
