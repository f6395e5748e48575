"""The Usage Statistics dashboard: static files served by the same process."""
