"""Certificates, keys and certificate stores."""
from __future__ import annotations

import pytest

from celery.exceptions import SecurityError
from celery.security.certificate import Certificate, CertStore, FSCertStore
from celery.security.key import PrivateKey
from celery.security.utils import get_digest_algorithm
from t.unit.security.certs import make_keypair, write_keypair


def test_certificate_id_is_issuer_and_serial(signer):
    cert = Certificate(signer.cert)
    assert cert.get_serial_number() == 1001
    assert cert.get_issuer() == 'signer Celery Tests'
    assert cert.get_id() == 'signer Celery Tests 1001'
    assert not cert.has_expired()


def test_certificate_accepts_str(signer):
    assert Certificate(signer.cert.decode()).get_id() == Certificate(signer.cert).get_id()


def test_expired_certificate_is_detected():
    assert Certificate(make_keypair('old', days=-1).cert).has_expired()


def test_garbage_certificate_is_a_security_error():
    with pytest.raises(SecurityError, match='Invalid certificate'):
        Certificate(b'-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n')


def test_non_rsa_keys_are_refused_clearly():
    pair = make_keypair('ec', elliptic=True)
    with pytest.raises(SecurityError, match='RSA'):
        PrivateKey(pair.key)
    with pytest.raises(SecurityError, match='RSA'):
        Certificate(pair.cert)


def test_signature_verifies_with_the_matching_certificate(signer, other_signer):
    digest = get_digest_algorithm('sha256')
    signature = PrivateKey(signer.key).sign(b'data', digest)
    Certificate(signer.cert).verify(b'data', signature, digest)
    with pytest.raises(SecurityError, match='Bad signature'):
        Certificate(other_signer.cert).verify(b'data', signature, digest)


def test_password_protected_key():
    pair = make_keypair('locked', password=b's3cret')
    digest = get_digest_algorithm()
    signature = PrivateKey(pair.key, password='s3cret').sign(b'x', digest)
    Certificate(pair.cert).verify(b'x', signature, digest)
    with pytest.raises(SecurityError, match='Invalid private key'):
        PrivateKey(pair.key, password=b'wrong')
    with pytest.raises(SecurityError, match='Invalid private key'):
        PrivateKey(pair.key)


def test_cert_store_lookup_and_duplicates(signer):
    store = CertStore()
    cert = Certificate(signer.cert)
    store.add_cert(cert)
    assert store[cert.get_id()] is cert
    assert store[cert.get_id().encode()] is cert
    assert list(store.itercerts()) == [cert]
    with pytest.raises(SecurityError, match='Duplicate'):
        store.add_cert(Certificate(signer.cert))
    with pytest.raises(SecurityError, match='Unknown certificate'):
        store['nobody 1']


def test_fs_cert_store_reads_directory_file_and_glob(tmp_path, signer, other_signer):
    write_keypair(tmp_path, 'a', signer)
    write_keypair(tmp_path, 'b', other_signer)
    assert len(FSCertStore(str(tmp_path / '*.pem'))) == 2
    assert len(FSCertStore(str(tmp_path / 'a.pem'))) == 1


def test_fs_cert_store_refuses_expired_and_empty(tmp_path):
    with pytest.raises(SecurityError, match='No certificates found'):
        FSCertStore(str(tmp_path / '*.pem'))
    (tmp_path / 'old.pem').write_bytes(make_keypair('old', days=-1).cert)
    with pytest.raises(SecurityError, match='Expired certificate'):
        FSCertStore(str(tmp_path))


def test_fs_cert_store_names_the_bad_file(tmp_path):
    (tmp_path / 'bad.pem').write_text('not a certificate')
    with pytest.raises(SecurityError, match='bad.pem'):
        FSCertStore(str(tmp_path))
