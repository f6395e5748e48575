"""Everything that speaks SQL. Dialect differences live in ``dialect.py`` only."""
