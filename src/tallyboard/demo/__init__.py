"""A realistic demo: a cast of organizations (``world``), their tenancy document
(``tenancy``), months of generated usage events (``usage``), and the builder that loads
both through the real admin and backfill paths (``builder``)."""
