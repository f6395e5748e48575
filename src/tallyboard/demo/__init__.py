"""A realistic demo: tenants, credentials and (with ingestion) months of usage."""
