"""The webhook certificate's lifecycle: issued once, kept while valid, renewed before expiry."""

import datetime

from cryptography import x509

from secrets_app.services import webhook_tls as tls

NAMES = tls.dns_names("ecrcontrol", "tools")
NOW = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)


def test_a_fresh_pair_is_kept_and_serves_the_service_names():
    pair = tls.issue(None, NAMES, NOW)
    assert tls.renewal_reason(pair, NAMES, NOW) == ""
    cert = x509.load_pem_x509_certificate(pair.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "ecrcontrol.tools.svc" in san.get_values_for_type(x509.DNSName)
    assert cert.issuer == x509.load_pem_x509_certificate(pair.ca_cert).subject


def test_missing_or_broken_material_is_issued():
    assert tls.renewal_reason(None, NAMES, NOW) == "no certificate yet"
    assert tls.Material.from_secret({"data": {"ca.crt": "eA=="}}) is None
    broken = tls.Material(b"junk", b"junk", b"junk", b"junk")
    assert "not valid PEM" in tls.renewal_reason(broken, NAMES, NOW)


def test_serving_certificate_is_renewed_on_the_same_ca_when_a_third_of_its_life_is_left():
    pair = tls.issue(None, NAMES, NOW)
    later = NOW + tls.SERVING_LIFETIME - tls.SERVING_RENEW_BEFORE + datetime.timedelta(days=1)
    assert "serving certificate expires" in tls.renewal_reason(pair, NAMES, later)
    renewed = tls.issue(pair, NAMES, later)
    assert renewed.ca_cert == pair.ca_cert and renewed.cert != pair.cert
    assert tls.renewal_reason(renewed, NAMES, later) == ""


def test_the_ca_is_replaced_when_less_than_a_year_is_left():
    pair = tls.issue(None, NAMES, NOW)
    late = NOW + tls.CA_LIFETIME - datetime.timedelta(days=100)
    assert "the CA expires" in tls.renewal_reason(pair, NAMES, late)
    assert tls.issue(pair, NAMES, late).ca_cert != pair.ca_cert


def test_a_renamed_service_gets_a_new_certificate():
    pair = tls.issue(None, NAMES, NOW)
    assert tls.renewal_reason(pair, tls.dns_names("other", "tools"), NOW) == "the Service's names changed"


def test_secret_data_round_trip():
    pair = tls.issue(None, NAMES, NOW)
    assert tls.Material.from_secret({"data": pair.as_secret_data()}) == pair
