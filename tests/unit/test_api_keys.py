"""API keys: `lp_<env>_<keyId>_<secret>` parsed by position, Bearer handling, hashing, generation."""

from __future__ import annotations

import pytest

from layers_common.api_keys import (
    ParsedKey,
    format_api_key,
    generate_api_key,
    hash_secret,
    parse_api_key,
    parse_bearer,
    secret_matches,
)

KEY_ID = "0123456789ABCDEF"
SECRET = "ab_cd-EF_gh-IJ_kl-MN_op-QR_st-UV_wx-YZ_0123"  # 43 characters, with `_` and `-`


def key_text(env: str = "live", key_id: str = KEY_ID, secret: str = SECRET) -> str:
    return f"lp_{env}_{key_id}_{secret}"


def test_the_sample_secret_has_the_contract_length():
    # Given the secret used throughout these tests
    # Then it is 43 characters, like base64url of 32 bytes
    assert len(SECRET) == 43


@pytest.mark.parametrize("env", ["live", "test"])
def test_a_key_is_parsed_into_env_key_id_and_secret(env):
    # Given a well-formed key of either environment
    # When it is parsed
    parsed = parse_api_key(key_text(env))
    # Then each part is found by position
    assert parsed == ParsedKey(env=env, key_id=KEY_ID, secret=SECRET)


@pytest.mark.parametrize("secret", ["_" * 43, "-" * 43, "_" + "a" * 41 + "-", "a" * 16 + "_" + "b" * 26])
def test_a_secret_made_of_underscores_and_dashes_still_parses(secret):
    # Given a secret that contains (or starts with) the separator character
    # When the key is parsed
    parsed = parse_api_key(key_text(secret=secret))
    # Then the secret is exactly the last 43 characters
    assert parsed is not None
    assert parsed.secret == secret
    assert parsed.key_id == KEY_ID


@pytest.mark.parametrize("prefix", ["lp_prod_", "lp_LIVE_", "lk_live_", "live_", "lp_live-", ""])
def test_a_key_with_an_unknown_prefix_is_refused(prefix):
    # Given a key whose prefix is not lp_live_ or lp_test_
    text = f"{prefix}{KEY_ID}_{SECRET}"
    # When it is parsed
    # Then it is refused
    assert parse_api_key(text) is None


@pytest.mark.parametrize(
    "key_id",
    ["0123456789ABCDE", "0123456789ABCDEF0", "0123456789abcdef", "0123456789ABCDE_", "0123456789ABCDE-"],
    ids=["15-chars", "17-chars", "lower-case", "underscore", "dash"],
)
def test_a_key_id_of_the_wrong_length_or_alphabet_is_refused(key_id):
    # Given a key id that is not 16 of [0-9A-Z]
    # When the key is parsed
    # Then it is refused
    assert parse_api_key(key_text(key_id=key_id)) is None


@pytest.mark.parametrize(
    "secret",
    [SECRET[:-1], SECRET + "a", SECRET[:-1] + "=", SECRET[:-1] + "+", SECRET[:-1] + "/", SECRET[:-1] + "é"],
    ids=["42-chars", "44-chars", "padding", "plus", "slash", "non-ascii"],
)
def test_a_secret_of_the_wrong_length_or_alphabet_is_refused(secret):
    # Given a secret that is not 43 base64url characters
    # When the key is parsed
    # Then it is refused
    assert parse_api_key(key_text(secret=secret)) is None


def test_a_key_without_the_separator_after_the_key_id_is_refused():
    # Given a key whose 17th character after the prefix is not `_`
    text = f"lp_live_{KEY_ID}-{SECRET}"
    # When it is parsed
    # Then it is refused
    assert parse_api_key(text) is None


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(scheme):
    # Given an Authorization header with the Bearer scheme in any case
    # When it is parsed
    parsed = parse_bearer(f"{scheme} {key_text()}")
    # Then the key is found
    assert parsed is not None
    assert parsed.key_id == KEY_ID


def test_surrounding_whitespace_around_the_credential_is_ignored():
    # Given extra spaces around the header value
    # When it is parsed
    parsed = parse_bearer(f"  Bearer   {key_text()}  ")
    # Then the key is found
    assert parsed is not None
    assert parsed.secret == SECRET


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", key_text(), f"Basic {key_text()}", f"Token {key_text()}", "Bearer nope"],
    ids=["absent", "empty", "scheme-only", "scheme-space", "no-scheme", "basic", "token", "malformed-key"],
)
def test_anything_but_a_bearer_key_is_no_credential(header):
    # Given a header that is missing, of another scheme, or carries a malformed key
    # When it is parsed
    # Then there is no credential
    assert parse_bearer(header) is None


def test_the_hash_is_a_sha256_hex_digest_that_does_not_contain_the_secret():
    # Given a secret
    # When it is hashed
    digest = hash_secret(SECRET)
    # Then the digest is 64 hex characters and the secret does not appear in it
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")
    assert SECRET not in digest


def test_the_right_secret_matches_its_stored_hash():
    # Given the stored hash of a secret
    stored = hash_secret(SECRET)
    # When the same secret is compared
    # Then it matches
    assert secret_matches(SECRET, stored)


def test_a_different_secret_does_not_match():
    # Given the stored hash of a secret
    stored = hash_secret(SECRET)
    # When a secret differing in its last character is compared
    # Then it does not match
    assert not secret_matches(SECRET[:-1] + "A", stored)


@pytest.mark.parametrize("env", ["live", "test"])
def test_a_generated_key_parses_back_to_itself(env):
    # Given many freshly generated keys (random secrets often contain `_` and `-`)
    for _ in range(200):
        parsed, text = generate_api_key(env)
        # When the text is parsed
        # Then it gives back the same key, and the text is the formatted key
        assert parse_api_key(text) == parsed
        assert text == format_api_key(parsed)
        assert parsed.env == env


def test_generated_keys_are_unique():
    # Given a batch of generated keys
    texts = {generate_api_key("test")[1] for _ in range(100)}
    # Then no two are the same
    assert len(texts) == 100


@pytest.mark.parametrize("render", [repr, str, lambda key: f"{key}", lambda key: f"{key!r}"])
def test_a_parsed_key_never_shows_its_secret_when_printed(render):
    # Given a parsed key
    parsed = ParsedKey(env="live", key_id=KEY_ID, secret=SECRET)
    # When it is rendered as a log line would
    text = render(parsed)
    # Then the key id is visible and the secret is not
    assert KEY_ID in text
    assert SECRET not in text
