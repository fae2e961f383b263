"""Public keys of key pairs: checking, fingerprinting and generating them.

A key pair is of type ``ssh`` (an OpenSSH public key line) or ``x509`` (a PEM
certificate); the fingerprint is Nova's: MD5 of the SSH key blob, or SHA-1 of the
certificate's DER form, as colon-separated lowercase hex. Generated keys are RSA 2048
(the private key is returned once and never stored). Errors are
:class:`~virtfleet.errors.InvalidInput` naming what is wrong with the key.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from virtfleet import errors

KEY_TYPES = ("ssh", "x509")
GENERATED_KEY_BITS = 2048
GENERATED_COMMENT = "Generated-by-virtfleet"
CERT_LIFETIME = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class PublicKey:
    """A checked public key with its fingerprint."""

    type: str
    public_key: str
    fingerprint: str


@dataclass(frozen=True)
class GeneratedKey:
    """A new key pair: the public part (kept) and the private key (shown once)."""

    public: PublicKey
    private_key: str


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in digest)


def check(key_type: str, text: str) -> PublicKey:
    """``text`` checked as a public key of ``key_type``, with its fingerprint."""
    if key_type == "ssh":
        return _check_ssh(text)
    if key_type == "x509":
        return _check_x509(text)
    raise errors.InvalidInput(f"Keypair type {key_type!r} is not one of: {', '.join(KEY_TYPES)}")


def _check_ssh(text: str) -> PublicKey:
    line = text.strip()
    if not line or "\n" in line:
        raise errors.InvalidInput(
            "Keypair data is invalid: public_key must be one OpenSSH public key line "
            "('<type> <base64 key> [comment]')."
        )
    try:
        key = serialization.load_ssh_public_key(line.encode())
    except (ValueError, TypeError, UnicodeError) as exc:
        raise errors.InvalidInput(
            f"Keypair data is invalid: public_key is not an OpenSSH public key ({exc})."
        ) from None
    canonical = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(canonical.split()[1])
    digest = hashlib.md5(blob, usedforsecurity=False).digest()
    return PublicKey(type="ssh", public_key=line, fingerprint=_colon_hex(digest))


def _check_x509(text: str) -> PublicKey:
    try:
        cert = x509.load_pem_x509_certificate(text.strip().encode())
    except (ValueError, TypeError, UnicodeError) as exc:
        raise errors.InvalidInput(
            f"Keypair data is invalid: public_key is not a PEM X.509 certificate ({exc})."
        ) from None
    return PublicKey(
        type="x509",
        public_key=text.strip() + "\n",
        fingerprint=_colon_hex(cert.fingerprint(hashes.SHA1())),  # noqa: S303  # Nova's fingerprint, not a security check
    )


def generate(key_type: str, owner: str) -> GeneratedKey:
    """A new RSA key pair of ``key_type`` (an x509 one is a self-signed certificate
    for ``owner``)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_KEY_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    if key_type == "ssh":
        public = private.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        line = f"{public.decode()} {GENERATED_COMMENT}"
        return GeneratedKey(public=check("ssh", line), private_key=private_pem)
    if key_type != "x509":
        check(key_type, "")  # raises naming the type
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, owner or "virtfleet")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_LIFETIME)
        .sign(private, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return GeneratedKey(public=check("x509", pem), private_key=private_pem)
