"""Queue sections, a factory context and TLS material for the PanDA/CRIC tests."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from apfctl.config.model import FactoryConfig, Origin, QueueConfig, RawValue
from apfctl.interfaces import FactoryContext


def raw(values: dict[str, str], source: str = "queues.conf") -> dict[str, RawValue]:
    return {key: RawValue(str(text), Origin(source, number)) for number, (key, text) in enumerate(values.items(), 1)}


def queue(name: str, **keys: str) -> QueueConfig:
    """A queue section; keyword ``wmsstatus_panda_baseurl`` stands for ``wmsstatus.panda.baseurl``."""
    values = {"enabled": "True", "wmsstatusplugin": "Panda"}
    values.update({key.replace("_", "."): value for key, value in keys.items()})
    return QueueConfig(name, raw(values))


def context(tmp_path: Path) -> FactoryContext:
    factory = FactoryConfig("Factory", raw({"factoryId": "test-factory"}, str(tmp_path / "apfctl.conf")))
    return FactoryContext(config=factory, state_dir=tmp_path / "state")


@dataclass
class Pem:
    cert: Path
    key: Path


def _name(common: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(folder: Path, stem: str, cert, key) -> Pem:
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Pem(cert_path, key_path)


def make_ca(folder: Path, common: str) -> tuple[Pem, object, object]:
    """A self-signed CA: (its files, certificate, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return _write(folder, common, cert, key), cert, key


def make_server_cert(folder: Path, stem: str, ca_cert, ca_key, *, expired: bool = False) -> Pem:
    """A localhost server certificate signed by the CA (valid now, or expired yesterday)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    start, end = (now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired else \
        (now - dt.timedelta(days=1), now + dt.timedelta(days=30))
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _write(folder, stem, cert, key)


def server_context(pem: Pem) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem.cert, pem.key)
    return context
