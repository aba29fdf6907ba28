"""A key pair's public half: read and fingerprinted as Nova does, or generated.

An ssh key is an OpenSSH public-key line whose fingerprint is the MD5 of
its decoded key blob; an x509 key is a PEM certificate whose fingerprint is
the SHA-1 of its DER form. Both are shown as lowercase hex pairs joined by
colons. Anything unreadable is KeypairInvalid, with Nova's reasons.
"""

from __future__ import annotations

import base64
import hashlib
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from offpath.errors import KeypairInvalid

# Nova's comment on the public keys it generates.
GENERATED_COMMENT: Final = "Generated-by-Nova"
KEY_BITS: Final = 2048
# Microsoft's User Principal Name: the subjectAltName a WinRM client certificate carries.
_UPN: Final = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
_CERT_DAYS: Final = 3650


class KeyType(StrEnum):
    """What a key pair holds: an OpenSSH public key or an X.509 certificate."""

    SSH = "ssh"
    X509 = "x509"


@dataclass(frozen=True, slots=True)
class GeneratedKeyPair:
    """A new key pair: the private key is shown once and never kept."""

    private_key: str
    public_key: str
    fingerprint: str


def _pairs(digest: str) -> str:
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public-key line; KeypairInvalid if it is not one."""
    try:
        line = public_key.encode("utf-8")
        with warnings.catch_warnings():
            # ssh-dss is deprecated by cryptography, still accepted by Nova.
            warnings.simplefilter("ignore")
            serialization.load_ssh_public_key(line)
        blob = base64.b64decode(public_key.split(" ")[1])
    except (ValueError, TypeError, IndexError, UnsupportedAlgorithm):
        raise KeypairInvalid("failed to generate fingerprint") from None
    return _pairs(hashlib.md5(blob, usedforsecurity=False).hexdigest())


def x509_fingerprint(certificate: str) -> str:
    """The SHA-1 fingerprint of a PEM certificate; KeypairInvalid if it is not one."""
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode("utf-8"))
        digest = cert.fingerprint(hashes.SHA1()).hex()  # Nova shows SHA-1
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeypairInvalid(f"failed to generate X509 fingerprint. Error message: {exc}") from None
    return _pairs(digest)


def fingerprint(public_key: str, key_type: KeyType) -> str:
    """The fingerprint Nova shows for a key of `key_type`."""
    if key_type is KeyType.X509:
        return x509_fingerprint(public_key)
    return ssh_fingerprint(public_key)


def generate_key_pair(key_type: KeyType, *, user_id: str) -> GeneratedKeyPair:
    """A new RSA key pair: an OpenSSH public key, or a self-signed client certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    if key_type is KeyType.X509:
        return _certificate(key, user_id)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    public = f"{line.decode('ascii')} {GENERATED_COMMENT}"
    return GeneratedKeyPair(private, public, ssh_fingerprint(public))


def _certificate(key: rsa.RSAPrivateKey, user_id: str) -> GeneratedKeyPair:
    """Nova's WinRM certificate: CN the user, UPN `user@localhost`, for client auth."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id or "nova")])
    now = datetime.now(UTC)
    upn = x509.OtherName(_UPN, _utf8_string(f"{user_id}@localhost"))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=_CERT_DAYS))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([upn]), critical=False)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return GeneratedKeyPair(private, public, x509_fingerprint(public))


def _utf8_string(text: str) -> bytes:
    """`text` DER-encoded as an ASN.1 UTF8String (what OpenSSL writes for `UTF8:`)."""
    data = text.encode("utf-8")
    if len(data) < 0x80:
        return bytes([0x0C, len(data)]) + data
    size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(size)]) + size + data
