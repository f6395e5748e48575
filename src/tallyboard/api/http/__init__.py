"""Plain HTTP endpoints: OAuth, admin, ingest, health and metrics."""
