"""The declarative tenancy document: validate it completely, apply it atomically."""
