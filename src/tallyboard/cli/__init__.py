"""The ``tallyboard`` command line. Every command reads the same typed settings."""
