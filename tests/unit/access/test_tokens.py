"""Secrets: recognisable per kind, 256 bits of entropy, stored only as SHA-256."""

from __future__ import annotations

import base64

import pytest

from tallyboard.access.tokens import CredentialKind, hash_secret, kind_of, new_secret, same_hash


@pytest.mark.parametrize("kind", list(CredentialKind))
def test_each_kind_has_its_own_prefix_and_at_least_128_bits(kind: CredentialKind) -> None:
    secret = new_secret(kind)
    assert kind_of(secret) is kind
    body = secret.removeprefix(kind.value)
    assert len(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) * 8 >= 128
    assert new_secret(kind) != secret


def test_prefixes_are_distinct() -> None:
    prefixes = [k.value for k in CredentialKind]
    assert len(set(prefixes)) == len(prefixes)
    assert not any(a != b and b.startswith(a) for a in prefixes for b in prefixes)


@pytest.mark.parametrize("text", ["", "tb_sat_", "abc", "Bearer tb_sat_x", "tb_sat_" + "x" * 200])
def test_unrecognisable_text_has_no_kind(text: str) -> None:
    assert kind_of(text) is None


def test_hashes_are_sha256_hex_and_compare_in_constant_time() -> None:
    digest = hash_secret("tb_sat_abc")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert same_hash(digest, hash_secret("tb_sat_abc"))
    assert not same_hash(digest, hash_secret("tb_sat_abd"))
