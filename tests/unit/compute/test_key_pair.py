"""Key pairs: OpenSSH lines and certificates read and fingerprinted as Nova does, or generated."""

from __future__ import annotations

import base64
import hashlib
from typing import Final

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offpath.compute.key_pair import (
    GENERATED_COMMENT,
    KeyType,
    fingerprint,
    generate_key_pair,
    ssh_fingerprint,
    x509_fingerprint,
)
from offpath.errors import KeypairInvalid

# Tempest's imported key and the fingerprint Nova shows for it.
TEMPEST_KEY: Final = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCsNe3/1ILNCqFyfYWDeTKLD6jEXC2OQHLmietMWW+/vd"
    "aZq7KZEwO0jhglaFjU1mpqq4Gz5RX156sCTNM9vRbwKAxfsdF9laBYVsex3m3Wmui3uYrKyumsoJn2g9GNnG1P"
    "I1mrVjZ61i0GY3khna+wzlTpCCmy5HNlrmbj3XLqBUpipTOXmsnr4sChzC53KCd8LXuwc1i/CZPvF+3XipvAgFSE53pCt"
    "LOeB1kYMOBaiUPLQTWXR3JpckqFIQwhIH0zoHlJvZE8hh90XcPojYN56tI0OlrGqojbediJYD0rUsJu4weZpbn8vilb3JuDY+jws"
    "snSA8wzBx3A/8y9Pp1B nova@ubuntu"
)
CURVES: Final = (ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1())


def openssh(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> str:
    """The OpenSSH public-key line of `key`."""
    return key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def md5_pairs(line: str) -> str:
    """The fingerprint computed here on its own: MD5 of the blob, in colon pairs."""
    digest = hashlib.md5(base64.b64decode(line.split()[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def test_tempest_s_key_has_nova_s_fingerprint() -> None:
    assert ssh_fingerprint(TEMPEST_KEY) == "61:5f:fe:c7:e0:fd:d7:4a:2b:52:6e:a6:f5:bf:da:27"


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("ssh-ed25519", id="ed25519"),
        pytest.param("ecdsa-sha2-nistp256", id="nistp256"),
        pytest.param("ecdsa-sha2-nistp384", id="nistp384"),
        pytest.param("ecdsa-sha2-nistp521", id="nistp521"),
    ],
)
def test_each_openssh_key_type_is_read(prefix: str) -> None:
    if prefix == "ssh-ed25519":
        line = openssh(ed25519.Ed25519PrivateKey.generate().public_key())
    else:
        curve = {256: CURVES[0], 384: CURVES[1], 521: CURVES[2]}[int(prefix[-3:])]
        line = openssh(ec.generate_private_key(curve).public_key())
    assert line.startswith(prefix)
    assert ssh_fingerprint(f"{line} me@host") == md5_pairs(line)


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_an_ssh_dss_key_is_still_read() -> None:
    line = (
        dsa.generate_private_key(1024)
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    assert line.startswith("ssh-dss ")
    assert ssh_fingerprint(line) == md5_pairs(line)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ssh-rsa JUNK nova@ubuntu", id="junk"),
        pytest.param(" ", id="blank"),
        pytest.param("", id="empty"),
        pytest.param("ssh-rsa " + "A" * 2048 + " openstack@ubuntu", id="too-long"),
        pytest.param(TEMPEST_KEY.replace("ssh-rsa", "ssh-ed25519"), id="wrong-type"),
        pytest.param("\udc80", id="unencodable"),
    ],
)
def test_an_unreadable_line_is_nova_s_reason(text: str) -> None:
    with pytest.raises(KeypairInvalid) as caught:
        ssh_fingerprint(text)
    assert caught.value.message == "Keypair data is invalid: failed to generate fingerprint"
    assert caught.value.code == "compute.keypair.invalid"


def test_a_generated_ssh_key_pair_is_rsa_2048_in_nova_s_formats() -> None:
    pair = generate_key_pair(KeyType.SSH, user_id="alice")
    assert pair.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    private = serialization.load_pem_private_key(pair.private_key.encode(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert pair.public_key == f"{openssh(private.public_key())} {GENERATED_COMMENT}"
    assert pair.fingerprint == ssh_fingerprint(pair.public_key) == md5_pairs(pair.public_key)


def test_a_generated_x509_key_pair_is_a_client_certificate_for_the_user() -> None:
    pair = generate_key_pair(KeyType.X509, user_id="alice")
    cert = x509.load_pem_x509_certificate(pair.public_key.encode())
    assert cert.subject.rfc4514_string() == "CN=alice"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usage
    assert pair.fingerprint == cert.fingerprint(hashes.SHA1()).hex(":")
    assert fingerprint(pair.public_key, KeyType.X509) == pair.fingerprint
    private = serialization.load_pem_private_key(pair.private_key.encode(), None)
    assert isinstance(private, rsa.RSAPrivateKey)


def test_an_unreadable_certificate_is_nova_s_x509_reason() -> None:
    with pytest.raises(KeypairInvalid) as caught:
        x509_fingerprint(TEMPEST_KEY)
    assert caught.value.message.startswith(
        "Keypair data is invalid: failed to generate X509 fingerprint. Error message: "
    )


# -- properties -----------------------------------------------------------------------------

# One RSA key for the properties: generating one per example is slow and tests nothing more.
_RSA: Final = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()


@st.composite
def public_keys(draw: st.DrawFn) -> str:
    """Any OpenSSH public key line offpath reads, with any comment."""
    kind = draw(st.sampled_from(["ed25519", "ecdsa", "rsa"]))
    if kind == "ed25519":
        seed = draw(st.binary(min_size=32, max_size=32))
        line = openssh(ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key())
    elif kind == "ecdsa":
        curve = draw(st.sampled_from(CURVES))
        secret = draw(st.integers(min_value=1, max_value=2**255))
        line = openssh(ec.derive_private_key(secret, curve).public_key())
    else:
        line = openssh(_RSA)
    comment = draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=20))
    return f"{line} {comment}" if comment else line


@given(public_keys())
def test_a_line_read_back_has_the_fingerprint_of_its_blob(line: str) -> None:
    assert ssh_fingerprint(line) == md5_pairs(line)
    assert fingerprint(line, KeyType.SSH) == ssh_fingerprint(line)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(KeyType)), st.from_regex(r"\A[a-z0-9]{1,16}\Z"))
def test_a_generated_pair_reads_back_to_its_fingerprint(key_type: KeyType, user_id: str) -> None:
    pair = generate_key_pair(key_type, user_id=user_id)
    assert fingerprint(pair.public_key, key_type) == pair.fingerprint


@given(st.text())
def test_any_text_is_a_fingerprint_or_keypair_invalid(text: str) -> None:
    for key_type in KeyType:
        try:
            found = fingerprint(text, key_type)
        except KeypairInvalid:
            continue
        assert len(found.split(":")) in (16, 20)


@given(st.sampled_from(["ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-dss"]), st.binary())
def test_any_blob_under_a_known_type_is_a_fingerprint_or_keypair_invalid(
    prefix: str, blob: bytes
) -> None:
    line = f"{prefix} {base64.b64encode(blob).decode()} comment"
    try:
        assert ssh_fingerprint(line) == md5_pairs(line)
    except KeypairInvalid as exc:
        assert exc.message == "Keypair data is invalid: failed to generate fingerprint"
