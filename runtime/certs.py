"""``podium certs init``: a cluster CA and one certificate per node, for mutual TLS.

Every node presents its certificate and trusts only the cluster CA, so a
peer without a CA-signed certificate fails the handshake before a single
frame of it is read. Node certificates carry the node id and the hosts
peers dial (``--hosts``; IP addresses and DNS names) as subject alternative
names, since the dialing side checks the name it dialed, and are valid for
both server and client authentication. Keys are ECDSA P-256, written 0600.

``http_hosts`` also issues ``http.pem``/``http-key.pem`` for the HTTPS API
(``[http] cert``/``key``), under the same CA, with the hosts clients dial as
its names and for server authentication only: clients trust it by the CA
(``podium --ca certs/ca.pem``), and one certificate serves every master whose
host it names.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["init_certs"]

Key = ec.EllipticCurvePrivateKey
# a CA signs certificates (and revocation lists), nothing else
CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "podium cluster"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _write_key(path: Path, key: Key) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _alt_names(node: str, hosts: Sequence[str]) -> list[x509.GeneralName]:
    return [x509.DNSName(node), *_host_names(hosts)]


def _host_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def init_certs(
    out: Path,
    nodes: Sequence[str],
    *,
    hosts: Sequence[str] = ("127.0.0.1", "localhost"),
    days: int = 825,
    now: dt.datetime | None = None,
    http_hosts: Sequence[str] = (),
) -> list[Path]:
    """Write ``ca.pem``, ``ca-key.pem`` and ``<node>.pem``/``<node>-key.pem`` under ``out``,
    and ``http.pem``/``http-key.pem`` for the API when ``http_hosts`` names its hosts.

    An existing CA in ``out`` is reused, so nodes can be added later with the
    same command; returns the files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    end = start + dt.timedelta(days=days)
    ca_cert_path, ca_key_path = out / "ca.pem", out / "ca-key.pem"
    written: list[Path] = []
    if ca_cert_path.exists() and ca_key_path.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{ca_key_path} is not an EC key written by podium certs init")
        ca_key = loaded
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(_name("podium cluster CA"))
            .issuer_name(_name("podium cluster CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days * 4))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(CA_USAGE, critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(ca_key_path, ca_key)
        _write_cert(ca_cert_path, ca_cert)
        written += [ca_cert_path, ca_key_path]
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    leaves = [(node, _alt_names(node, hosts), both) for node in nodes]
    if http_hosts:
        leaves.append(("http", _host_names(http_hosts), [ExtendedKeyUsageOID.SERVER_AUTH]))
    for node, alt_names, usages in leaves:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(node))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_path, key_path = out / f"{node}.pem", out / f"{node}-key.pem"
        _write_key(key_path, key)
        _write_cert(cert_path, cert)
        written += [cert_path, key_path]
    return written
