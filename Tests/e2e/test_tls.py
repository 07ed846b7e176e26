"""TLS terminated by `confidant serve` itself: sslyze's Mozilla "intermediate" check, old protocol
versions refused, HSTS, the plain-HTTP redirect, and a certificate reloaded on SIGHUP. The test CA
and certificates are made here, with the `cryptography` package sslyze brings."""
import datetime
import ipaddress
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness import ROOT, Server, free_port

SSLYZE = ROOT / ".test-runtime" / "venv" / "bin" / "sslyze"


def write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)


def issue_leaf(directory: Path, ca_key, ca_cert, serial: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_key(key, directory / "server.key")
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def pki():
    directory = Path(tempfile.mkdtemp(prefix="confidant-pki-"))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Confidant test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    issue_leaf(directory, ca_key, ca_cert, serial=1001)
    return {"directory": directory, "ca_key": ca_key, "ca_cert": ca_cert}


def served_serial(port: int, ca: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw, server_hostname="localhost") as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def test_tls_passes_sslyze_refuses_old_versions_redirects_and_reloads(pki):
    directory = pki["directory"]
    redirect_port = free_port()
    server = Server(tls={"certificate": str(directory / "server.pem"), "key": str(directory / "server.key"), "ca": str(directory / "ca.pem"),
                         "redirect_port": redirect_port})
    try:
        result = subprocess.run([str(SSLYZE), "--mozilla_config=intermediate", f"--certinfo_ca_file={directory / 'ca.pem'}", f"localhost:{server.port}"],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert f"localhost:{server.port}: OK - Compliant." in result.stdout

        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises(ssl.SSLError), socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            old.wrap_socket(raw, server_hostname="localhost")

        with urllib.request.urlopen(server.url + "/healthz", context=server.ssl_context, timeout=5) as response:
            assert response.headers["Strict-Transport-Security"] == "max-age=63072000"

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"http://127.0.0.1:{redirect_port}/console/?tab=1", timeout=5)
        assert redirect.value.code == 308
        assert redirect.value.headers["Location"] == f"{server.url}/console/?tab=1"

        # Renewal: new files, SIGHUP, new connections get the new certificate without a restart.
        assert served_serial(server.port, directory / "ca.pem") == 1001
        issue_leaf(directory, pki["ca_key"], pki["ca_cert"], serial=2002)
        server.process.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while served_serial(server.port, directory / "ca.pem") != 2002 and time.time() < deadline:
            time.sleep(0.2)
        assert served_serial(server.port, directory / "ca.pem") == 2002
        # A broken renewal: the certificate in use stays.
        (directory / "server.pem").write_text("not a certificate")
        server.process.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert served_serial(server.port, directory / "ca.pem") == 2002
        assert "Could not reload the TLS certificate" in (server.directory / "server.log").read_text()
        assert server.process.poll() is None, "the server kept running"
    finally:
        server.stop()
