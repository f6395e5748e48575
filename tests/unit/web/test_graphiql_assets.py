"""The vendored GraphiQL is exactly what its manifest says (scripts/update-graphiql
writes both), carries its licences, and ships in the wheel."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path

WEB = files("tallyboard.web")
GRAPHIQL = WEB.joinpath("graphiql")
VENDOR = GRAPHIQL.joinpath("vendor")
ROOT = Path(__file__).resolve().parents[3]


def manifest() -> dict[str, list[dict[str, object]]]:
    loaded: dict[str, list[dict[str, object]]] = json.loads(
        VENDOR.joinpath("manifest.json").read_text("utf-8")
    )
    return loaded


def test_every_vendored_file_matches_its_digest_and_nothing_else_is_there() -> None:
    listed: dict[str, str] = {}
    for package in manifest()["packages"]:
        digests = package["files"]
        assert isinstance(digests, dict)
        listed.update(digests)
    present = {entry.name for entry in VENDOR.iterdir()} - {"manifest.json"}
    assert present == set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256(VENDOR.joinpath(name).read_bytes()).hexdigest() == digest, name


def test_each_package_is_pinned_with_its_integrity_and_licence() -> None:
    packages = {str(p["package"]): p for p in manifest()["packages"]}
    assert set(packages) == {"graphiql", "react", "react-dom"}
    for name, package in packages.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", str(package["version"])), package
        assert str(package["integrity"]).startswith("sha512-")
        assert package["license"] == "MIT"
        assert f"LICENSE.{name}" in package["files"]  # type: ignore[operator]
    # The UMD build GraphiQL ships up to 4.x needs React 18 (19 has no UMD build).
    assert str(packages["graphiql"]["version"]).startswith("4.")
    assert str(packages["react"]["version"]) == str(packages["react-dom"]["version"])
    assert str(packages["react"]["version"]).startswith("18.")


def test_the_page_loads_only_files_of_this_package() -> None:
    page = GRAPHIQL.joinpath("index.html").read_text("utf-8")
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert references
    for reference in references:
        assert reference.startswith("/"), reference  # this origin, never another host
        assert not reference.startswith("//"), reference
        if reference.startswith("/graphiql/"):
            assert GRAPHIQL.joinpath(reference.removeprefix("/graphiql/")).is_file(), reference
    assert "<script>" not in page and "<style" not in page and "style=" not in page


def test_the_wheel_ships_every_graphiql_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["tallyboard"]
    package = ROOT / "src" / "tallyboard"
    shipped = [
        path
        for path in (package / "web" / "graphiql").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert len(shipped) >= 10
    for path in shipped:
        relative = path.relative_to(package).as_posix()
        # setuptools' package-data globs: "*" does not cross a "/".
        matched = [
            p
            for p in patterns
            if fnmatch.fnmatch(relative, p) and p.count("/") == relative.count("/")
        ]
        assert matched, f"{relative} is not in package-data"
