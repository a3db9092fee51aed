"""A test PKI built with ``cryptography``: a CA, a user certificate, RFC 3820 proxies, JWTs."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# ProxyCertInfo (RFC 3820): critical extension 1.3.6.1.5.5.7.1.14 holding
# SEQUENCE { proxyPolicy SEQUENCE { policyLanguage id-ppl-inheritAll 1.3.6.1.5.5.7.21.1 } }
PROXY_CERT_INFO = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
INHERIT_ALL_DER = bytes.fromhex("300c300a06082b06010505071501")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(*cns: str, org: str = "apfctl test") -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    attributes += [x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in cns]
    return x509.Name(attributes)


@dataclass
class Identity:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, passphrase: str | None = None) -> bytes:
        encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                      else serialization.NoEncryption())
        fmt = serialization.PrivateFormat.PKCS8 if passphrase else serialization.PrivateFormat.TraditionalOpenSSL
        return self.key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


def make_ca() -> Identity:
    key = _key()
    name = _name("apfctl test CA")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now() - dt.timedelta(days=1)).not_valid_after(now() + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return Identity(key, cert)


def make_user(ca: Identity, cn: str = "Pilot Factory", days: int = 365) -> Identity:
    key = _key()
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now() - dt.timedelta(days=1)).not_valid_after(now() + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Identity(key, cert)


def make_server(ca: Identity, folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A TLS server certificate for ``host`` (IP and DNS names) signed by ``ca``: (cert, key) files."""
    import ipaddress

    key = _key()
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(_name(host)).issuer_name(ca.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now() - dt.timedelta(days=1)).not_valid_after(now() + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(Identity(key, cert).key_pem())
    key_file.chmod(0o600)
    return cert_file, key_file


def make_proxy(user: Identity, valid_for: dt.timedelta, started: dt.timedelta = dt.timedelta(hours=1)) -> bytes:
    """An RFC 3820 proxy file (proxy cert, its key, the user cert) valid until now + valid_for."""
    key = _key()
    serial = x509.random_serial_number()
    subject = x509.Name([*user.cert.subject, x509.NameAttribute(NameOID.COMMON_NAME, str(serial))])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(user.cert.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(now() - started).not_valid_after(now() + valid_for)
            .add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO, INHERIT_ALL_DER), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(user.key, hashes.SHA256()))
    proxy = Identity(key, cert)
    return proxy.cert_pem() + proxy.key_pem() + user.cert_pem()


def write_certdir(ca: Identity, folder: Path) -> Path:
    """A trusted-certificates folder with the CA under its OpenSSL subject hash."""
    folder.mkdir(parents=True, exist_ok=True)
    pem = folder / "ca.pem"
    pem.write_bytes(ca.cert_pem())
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(pem)], check=True,
                                  capture_output=True, text=True).stdout.strip()
    (folder / f"{subject_hash}.0").write_bytes(ca.cert_pem())
    pem.unlink()
    return folder


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def make_jwt(exp: float | None, aud: str | list[str] | None = "https://ce.example.org",
             scope: str = "compute.create compute.read", sub: str = "pilot-factory") -> str:
    """A compact JWT with an unchecked signature (the factory never verifies its own token)."""
    claims: dict = {"sub": sub, "iss": "https://iam.example.org/", "scope": scope}
    if exp is not None:
        claims["exp"] = int(exp)
    if aud is not None:
        claims["aud"] = aud
    return f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2lnbmF0dXJl"
