"""Pure rules of the product: periods, usage, rollup keys, tenancy settings, errors.

Nothing in here performs I/O or imports a framework (enforced by import-linter), so
every rule can be tested exhaustively and quickly.
"""
