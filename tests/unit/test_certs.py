"""The throwaway CA issues certificates that verify against it, with the right names."""

import ssl

from cryptography import x509

from devstack.certs import CertificateAuthority


def test_server_certificate_names_loopback_and_verifies(tmp_path):
    ca = CertificateAuthority()
    cert_path, key_path = ca.issue("web", hosts=("127.0.0.1", "localhost"), server=True).write(
        tmp_path, "web"
    )
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert oct(key_path.stat().st_mode & 0o777) == "0o600"
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    context.load_cert_chain(cert_path, key_path)  # key matches certificate


def test_client_certificate_carries_groups_as_organizations():
    pair = CertificateAuthority().issue("admin", organizations=("system:masters",), client=True)
    subject = x509.load_pem_x509_certificate(pair.cert_pem).subject
    assert subject.rfc4514_string() == "O=system:masters,CN=admin"
