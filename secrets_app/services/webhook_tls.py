"""The web role's own TLS for the admission webhooks (the chart's default; cert-manager is the other way).

A CA and a serving certificate for the webhook Service's DNS names, kept in one Secret (`ca.crt`,
`ca.key`, `tls.crt`, `tls.key`) that the chart creates empty and keeps across `helm upgrade`. A
valid pair is reused, so a pod restart or an upgrade changes nothing; the serving certificate is
renewed when a third of its lifetime is left or its names changed, the CA when less than a year is
left. The CA certificate is patched into both webhook configurations (`caBundle`), and the pair is
written to files that gunicorn reads for every new connection, so a renewal needs no restart.
Several web pods may run this at once: writes carry the Secret's resourceVersion, and a loser of
the race re-reads and adopts the winner's pair.
"""

from __future__ import annotations

import base64
import datetime
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..kube.api import Kube
from ..kube.errors import Conflict

log = logging.getLogger(__name__)

CA_LIFETIME = datetime.timedelta(days=3650)
CA_RENEW_BEFORE = datetime.timedelta(days=365)
SERVING_LIFETIME = datetime.timedelta(days=365)
SERVING_RENEW_BEFORE = SERVING_LIFETIME / 3
KEYS = ("ca.crt", "ca.key", "tls.crt", "tls.key")


@dataclass(frozen=True)
class Material:
    ca_cert: bytes
    ca_key: bytes
    cert: bytes
    key: bytes

    def as_secret_data(self) -> dict[str, str]:
        values = (self.ca_cert, self.ca_key, self.cert, self.key)
        return {k: base64.b64encode(v).decode() for k, v in zip(KEYS, values, strict=True)}

    @classmethod
    def from_secret(cls, secret: dict | None) -> Material | None:
        data = (secret or {}).get("data") or {}
        if not all(data.get(k) for k in KEYS):
            return None
        return cls(*(base64.b64decode(data[k]) for k in KEYS))


def dns_names(service: str, namespace: str) -> list[str]:
    """The names the API server may use for the Service (it uses `<svc>.<ns>.svc`)."""
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _new_ca(now: datetime.datetime) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ecrcontrol-webhook-ca-{now:%Y%m%d}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _new_serving(ca_cert_pem: bytes, ca_key_pem: bytes, names: list[str], now) -> tuple[bytes, bytes]:
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[-2])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + SERVING_LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def renewal_reason(material: Material | None, names: list[str], now: datetime.datetime) -> str:
    """Why `material` must be (re)issued, or "" when it is good as it is."""
    if material is None:
        return "no certificate yet"
    try:
        ca = x509.load_pem_x509_certificate(material.ca_cert)
        cert = x509.load_pem_x509_certificate(material.cert)
    except ValueError:
        return "the stored certificate is not valid PEM"
    if ca.not_valid_after_utc - now < CA_RENEW_BEFORE:
        return f"the CA expires at {ca.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    if cert.not_valid_after_utc - now < SERVING_RENEW_BEFORE:
        return f"the serving certificate expires at {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    if cert.issuer != ca.subject:
        return "the serving certificate was not issued by the stored CA"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if sorted(san.get_values_for_type(x509.DNSName)) != sorted(names):
        return "the Service's names changed"
    return ""


def issue(material: Material | None, names: list[str], now: datetime.datetime) -> Material:
    """A new serving certificate, on the current CA when that CA has more than a year left."""
    reuse_ca = False
    if material is not None:
        try:
            ca = x509.load_pem_x509_certificate(material.ca_cert)
            reuse_ca = ca.not_valid_after_utc - now >= CA_RENEW_BEFORE
        except ValueError:
            pass
    ca_cert, ca_key = (material.ca_cert, material.ca_key) if reuse_ca else _new_ca(now)
    return Material(ca_cert, ca_key, *_new_serving(ca_cert, ca_key, names, now))


def ensure_secret(kube: Kube, namespace: str, secret_name: str, names: list[str]) -> tuple[Material, str]:
    """The Secret's valid pair, issuing and storing a new one if needed. Returns (pair, why renewed)."""
    for _attempt in range(5):
        secret = kube.get_secret(namespace, secret_name)
        material = Material.from_secret(secret)
        reason = renewal_reason(material, names, _now())
        if not reason:
            return material, ""
        fresh = issue(material, names, _now())
        try:
            if secret is None:
                kube.create_secret(
                    namespace,
                    {"metadata": {"name": secret_name}, "type": "Opaque", "data": fresh.as_secret_data()},
                )
            else:
                kube.replace_secret(namespace, secret_name, {**secret, "data": fresh.as_secret_data()})
        except Conflict:
            continue  # another web pod wrote first: adopt its pair
        log.info("webhook certificate issued for %s (%s)", names[-2], reason)
        return fresh, reason
    raise Conflict(409, "Conflict", f"Secret {namespace}/{secret_name} kept changing while it was written")


def write_files(material: Material, directory: Path) -> None:
    """tls.crt, tls.key and ca.crt, each replaced atomically (gunicorn may read them at any time)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in (
        ("ca.crt", material.ca_cert),
        ("tls.key", material.key),
        ("tls.crt", material.cert),
    ):
        tmp = directory / f".{name}.tmp"
        tmp.write_bytes(content)
        tmp.chmod(0o600)
        os.replace(tmp, directory / name)


def ensure(
    kube: Kube,
    namespace: str,
    secret_name: str,
    service: str,
    webhook_configurations: list[tuple[str, str]],
    out_dir: Path | None,
) -> str:
    """One pass: a valid pair in the Secret, the CA in each webhook configuration, files written.

    Returns why the pair was renewed ("" when it was kept).
    """
    material, reason = ensure_secret(kube, namespace, secret_name, dns_names(service, namespace))
    for kind, name in webhook_configurations:
        if kube.set_webhook_ca_bundle(kind, name, material.ca_cert):
            log.info("caBundle of %s %s updated", kind, name)
    if out_dir is not None:
        write_files(material, out_dir)
    return reason
