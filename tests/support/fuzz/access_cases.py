"""``/oauth/token`` and ``/v1/admin/apply`` requests for the fuzz.

Token requests: the client-credentials grant as a form or JSON, with credentials in the
body or in HTTP Basic (both, neither, malformed), odd grant types, repeated parameters,
NUL bytes (issue 11, item 5: ``client_id=tbc_\\0``) and oversized bodies. A request is
known to succeed only when it is exactly right.

Tenancy documents: well-formed documents for organizations, users, service accounts and
ingest keys of the fuzz's own (named ``fz…``, so the seeded tenancy the other fuzz tests
use is never changed), then broken one way: unknown keys, wrong types, hostile values,
control characters in ids (item 5), unknown references, unknown permissions (item 20),
a structural and a reference problem together (item 18).
"""

from __future__ import annotations

import base64
import copy
import itertools
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from tests.support.fuzz.checks import Sent, Suite
from tests.support.fuzz.server import World
from tests.support.fuzz.values import clean_text, encode, hostile_json, hostile_text, nested_json

__all__ = ["apply_suites", "oauth_suites"]

Draw = Callable[[st.SearchStrategy[Any]], Any]
FORM = "application/x-www-form-urlencoded"
MAX_TOKEN_BODY = 16 * 1024


# ------------------------------------------------------------------ /oauth/token


def _pick(draw: Draw, right: str, others: list[Any]) -> tuple[Any, bool]:
    """The right value (and True), or another one (and whether it happens to be right)."""
    if draw(st.integers(0, 2)) > 0:
        return right, True
    value = draw(st.one_of(st.sampled_from(others), hostile_text(surrogates=False)))
    return value, value == right


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@st.composite
def _token_request(draw: Draw, world: World) -> Sent:
    client_id, secret = world.client
    grant, grant_ok = _pick(draw, "client_credentials", ["", "password", "CLIENT_CREDENTIALS"])
    cid, cid_ok = _pick(draw, client_id, ["tbc_\x00", "tbc_" + "0" * 32, client_id.upper()])
    sec, sec_ok = _pick(draw, secret, ["", secret[:-1], secret + "x", "tb_cs_\x00"])
    where = draw(st.sampled_from(["body", "body", "basic", "both", "neither"]))
    fields: list[tuple[str, Any]] = [("grant_type", grant)]
    headers: dict[str, str] = {}
    if where in ("body", "both"):
        fields += [("client_id", cid), ("client_secret", sec)]
    if where in ("basic", "both"):
        headers["Authorization"] = draw(
            st.sampled_from([_basic(cid, sec), "Basic !!!", "Basic " + "QQ==", "Basic", "Bearer x"])
        )
    header = headers.get("Authorization", "")
    basic = header[:6].lower() == "basic "  # any other scheme is not client authentication
    text = hostile_text(surrogates=False)  # a form body is UTF-8 text
    extras = draw(st.lists(st.tuples(hostile_text(12, surrogates=False), text), max_size=2))
    if draw(st.integers(0, 9)) == 0:
        extras.append(fields[-1])
    fields += extras
    repeated = len({k for k, _ in fields}) < len(fields)
    if draw(st.booleans()):
        body = encode(dict(fields))
        headers["Content-Type"] = draw(
            st.sampled_from(["application/json", "application/json; charset=utf-8"])
        )
        repeated = False  # a JSON object has one value per key
    else:
        body = urlencode([(str(k), str(v)) for k, v in fields]).encode()
        headers["Content-Type"] = draw(st.sampled_from([FORM, f"{FORM}; charset=utf-8", ""]))
    in_body = where in ("body", "both")
    if basic:  # RFC 6749 §2.3: one way only; Basic must decode to the right pair
        credentials_ok = not in_body and header == _basic(cid, sec) and cid_ok and sec_ok
    else:
        credentials_ok = in_body and cid_ok and sec_ok
    keys_ok = not any(k in ("grant_type", "client_id", "client_secret") for k, _ in extras)
    ok = grant_ok and credentials_ok and keys_ok and not repeated and len(body) <= MAX_TOKEN_BODY
    headers = {k: v for k, v in headers.items() if v}
    return Sent("/oauth/token", "token request", body, headers, context={"auth": where, "ok": ok})


_RAW_TOKEN_BODIES = [
    b"",
    b"%ff%fe=1",
    b"grant_type=client_credentials&client_id=%00&client_secret=%00",
    b"\xff\xfe",
    b"grant_type",
    b"&&&===",
    b"[]",
    b"null",
]


@st.composite
def _raw_token_request(draw: Draw) -> Sent:
    body = draw(
        st.one_of(
            st.sampled_from(_RAW_TOKEN_BODIES),
            st.binary(max_size=200),
            st.integers(MAX_TOKEN_BODY - 2, MAX_TOKEN_BODY + 2).map(lambda n: b"a" * n),
        )
    )
    content_type = draw(st.sampled_from([FORM, "application/json", "text/plain", ""]))
    headers = {"Content-Type": content_type} if content_type else {}
    return Sent("/oauth/token", "raw token body", body, headers, context={"auth": "-", "ok": False})


def oauth_suites(world: World) -> list[Suite]:
    # Issue 11, item 5: a NUL in client_id, no credential needed.
    nul = [
        (b"grant_type=client_credentials&client_id=tbc_%00&client_secret=x", FORM),
        (
            b'{"grant_type": "client_credentials", "client_id": "tbc_\\u0000", '
            b'"client_secret": "x"}',
            "application/json",
        ),
    ]
    seeds = tuple(
        Sent(
            "/oauth/token",
            "token request",
            body,
            {"Content-Type": content_type},
            context={"auth": "body", "ok": False},
        )
        for body, content_type in nul
    )
    return [Suite(70, _token_request(world), seeds), Suite(25, _raw_token_request())]


# ------------------------------------------------------------------ /v1/admin/apply


def _organization(draw: Draw, oid: str) -> dict[str, Any]:
    org: dict[str, Any] = {"id": oid, "name": draw(clean_text(1, 30))}
    if draw(st.booleans()):
        org["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, oid))  # unique, unlike drawn ones
    if draw(st.booleans()):
        allowances = {
            "apiCalls": draw(st.integers(0, 10**9)),
            "aiCredits": draw(st.sampled_from([0, 2.5, 500])),
        }
        org["settings"] = [
            {"effectiveFrom": "2026-01", "allowances": allowances, "aiCreditAddon": True}
        ]
    if draw(st.booleans()):
        org["roles"] = [{"name": "Fuzz viewer", "permissions": ["usage_stats"]}]
    if draw(st.booleans()):
        org["agents"] = [{"id": "agt-fz", "name": draw(clean_text(1, 30))}]
        org["flows"] = [
            {"id": "flow-fz", "name": "Fuzz flow", "project": {"id": "prj-fz", "name": "P"}}
        ]
    return org


@st.composite
def _document(draw: Draw, world: World, serial: itertools.count[int]) -> dict[str, Any]:
    """A valid document whose entities are the fuzz's own (names unique in the run)."""
    n = next(serial)
    tag = f"fz{world.suffix}-{n}"
    org_ids = [f"{tag}-o{i}" for i in range(draw(st.integers(1, 2)))]
    organizations = [_organization(draw, oid) for oid in org_ids]
    custom = {o["id"] for o in organizations if "roles" in o}
    member_of = draw(st.sampled_from([*org_ids, world.org_ids[0]]))
    roles = ["super_admin", "admin", "member", "company_guest", "external_guest"]
    role = draw(st.sampled_from([*roles, "Fuzz viewer"] if member_of in custom else roles))
    user: dict[str, Any] = {
        "email": f"{tag}@fuzz.test",
        "name": draw(clean_text(1, 30)),
        "memberships": [{"organization": member_of, "role": role}],
        "personalTokens": [{"name": "cli", "billingOrganization": member_of}],
    }
    document: dict[str, Any] = {"organizations": organizations, "users": [user]}
    document["serviceAccounts"] = [
        {
            "organization": org_ids[0],
            "name": f"bot-{n}"[:20],
            "role": "admin",
            "tokenLifetime": draw(st.sampled_from(["5m", "30d", "1h30m", 300, "86400"])),
        }
    ]
    document["ingestKeys"] = [
        {"name": f"{tag}-key", "organization": draw(st.sampled_from([*org_ids, None]))}
    ]
    if draw(st.booleans()):
        document["revoke"] = {"ingestKeys": [{"name": f"{tag}-key"}]}
    return document


_LEAF_PATHS = [
    ("organizations", 0, "id"),
    ("organizations", 0, "name"),
    ("organizations", 0, "uuid"),
    ("users", 0, "email"),
    ("users", 0, "name"),
    ("users", 0, "memberships", 0, "role"),
    ("users", 0, "memberships", 0, "organization"),
    ("users", 0, "personalTokens", 0, "billingOrganization"),
    ("serviceAccounts", 0, "name"),
    ("serviceAccounts", 0, "tokenLifetime"),
    ("ingestKeys", 0, "name"),
    ("ingestKeys", 0, "organization"),
]
_BREAKS = [
    "unknown key",
    "hostile value",
    "control character",
    "too long",
    "unknown reference",
    "unknown permission",
    "huge number",
    "bad month",
    "two problems",
]


def _at(document: dict[str, Any], path: tuple[Any, ...]) -> tuple[Any, Any]:
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    return target, path[-1]


@st.composite
def _broken_document(draw: Draw, world: World, serial: itertools.count[int]) -> Sent:
    document = copy.deepcopy(draw(_document(world, serial)))
    how = draw(st.sampled_from(_BREAKS))
    path = draw(st.sampled_from(_LEAF_PATHS))
    target, key = _at(document, path)
    expect_paths: list[str] = []
    # A hostile value may happen to be valid; every other break must be refused.
    refused = how != "hostile value"
    if how == "unknown key":
        document["organizations"][0]["nmae"] = "typo"
    elif how == "hostile value":
        target[key] = draw(hostile_json())
    elif how == "control character":
        char = draw(st.sampled_from(["\x00", "\x01", "\n", "\x1b"]))
        target[key] = f"{target.get(key, '')}{char}x"
    elif how == "too long":
        target[key] = "z" * draw(st.sampled_from([321, 5_000]))  # over every documented limit
    elif how == "unknown reference":
        document["users"][0]["memberships"][0]["role"] = "Nonexistent role"
    elif how == "unknown permission":
        document["organizations"][0]["roles"] = [{"name": "God", "permissions": ["god_mode"]}]
    elif how == "huge number":
        huge = draw(st.sampled_from([2**63, 2**70, -1]))
        document["organizations"][0]["settings"] = [{"allowances": {"apiCalls": huge}}]
        refused = huge < 0  # beyond 64 bits: refused or stored, but never a 5xx
    elif how == "bad month":
        document["organizations"][0]["settings"] = [
            {"effectiveFrom": draw(st.sampled_from(["2026-13", "0000-01", "99999-01", ""]))}
        ]
    else:
        document["organizations"][0]["nmae"] = "typo"
        document["users"][0]["memberships"][0]["role"] = "Nonexistent role"
        expect_paths = ["organizations[0].nmae", "users[0].memberships[0]"]
    context = {"auth": "admin", "status": 422 if refused else None, "paths": expect_paths}
    return _apply_request(world, f"document with {how}", encode(document), context)


@st.composite
def _valid_document(draw: Draw, world: World, serial: itertools.count[int]) -> Sent:
    context = {"auth": "admin", "status": 200, "paths": []}
    return _apply_request(world, "valid document", encode(draw(_document(world, serial))), context)


@st.composite
def _raw_document(draw: Draw, world: World) -> Sent:
    body = draw(
        st.one_of(
            st.sampled_from(
                [
                    b"",
                    b"{",
                    b"null",
                    b"[]",
                    b"5",
                    b'"x"',
                    b"\xff",
                    b"{}",
                    b'{"organizations": null}',
                ]
            ),
            st.binary(max_size=100),
            st.integers(1, 3_000).map(lambda n: nested_json(n, as_object=True).encode()),
        )
    )
    who = draw(st.sampled_from(["admin", "admin", "nobody", "ingest key", "GraphQL token"]))
    context = {"auth": who, "status": None, "paths": []}
    return _apply_request(world, "raw document", body, context, who)


def _apply_request(
    world: World, kind: str, body: bytes, context: dict[str, Any], who: str = "admin"
) -> Sent:
    """``who`` presents its credential: only the instance admin token may apply."""
    credentials = {
        "admin": world.admin_token,
        "ingest key": world.ingest_keys["all"],
        "GraphQL token": world.tokens["super"],
    }
    headers = {"Content-Type": "application/json"}
    if who in credentials:
        headers["Authorization"] = f"Bearer {credentials[who]}"
    if who != "admin":
        context = {**context, "status": 401}
    return Sent("/v1/admin/apply", kind, body, headers, context={**context, "auth": who})


def _apply_seeds(world: World) -> list[Sent]:
    """Issue 11: an id with a NUL (item 5), an unknown permission (item 20), a structural
    and a reference problem reported in one pass (item 18)."""
    tag = f"fz{world.suffix}-seed"
    nul = {"organizations": [{"id": "9\x00", "name": "NUL"}]}
    god = {
        "organizations": [
            {
                "id": f"{tag}-god",
                "name": "G",
                "roles": [{"name": "God", "permissions": ["god_mode"]}],
            }
        ]
    }
    both = {
        "organizations": [{"id": f"{tag}-both", "name": "B", "nmae": "typo"}],
        "users": [
            {
                "email": f"{tag}@fuzz.test",
                "name": "U",
                "memberships": [{"organization": f"{tag}-both", "role": "Nonexistent role"}],
            }
        ],
    }
    refused = {"status": 422, "paths": []}
    return [
        _apply_request(world, "document with control character", encode(nul), refused),
        _apply_request(world, "document with unknown permission", encode(god), refused),
        _apply_request(
            world,
            "document with two problems",
            encode(both),
            {"status": 422, "paths": ["organizations[0].nmae", "users[0].memberships[0]"]},
        ),
    ]


def apply_suites(world: World) -> list[Suite]:
    serial = itertools.count()
    return [
        Suite(0, None, tuple(_apply_seeds(world))),
        Suite(20, _valid_document(world, serial)),
        Suite(60, _broken_document(world, serial)),
        Suite(25, _raw_document(world)),
    ]
