"""zoo's object-store weight stores through fsspec (``s3://`` via s3fs, and any fsspec
protocol installed). The records are in :mod:`zoo_fsspec.plugin`; the stores themselves
(:mod:`zoo_fsspec.store`) import fsspec only when an object is fetched or stored."""
