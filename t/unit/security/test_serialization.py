"""The auth serializer signs, verifies and refuses tampered or foreign messages."""
from __future__ import annotations

from base64 import b64decode, b64encode

import pytest
from kombu.exceptions import DecodeError
from kombu.serialization import dumps, loads, registry

from celery.exceptions import SecurityError
from celery.security.certificate import Certificate, CertStore
from celery.security.key import PrivateKey
from celery.security.serialization import SEPARATOR, SecureSerializer, register_auth
from t.unit.security.certs import make_keypair


def make_serializer(signer, *trusted, digest='sha256', serializer='json'):
    store = CertStore()
    for pair in trusted or (signer,):
        store.add_cert(Certificate(pair.cert))
    return SecureSerializer(PrivateKey(signer.key), Certificate(signer.cert), store,
                            digest=digest, serializer=serializer)


def test_round_trip_keeps_the_data(signer):
    secure = make_serializer(signer)
    data = [[1, 'two'], {'x': 'ünïcode'}, {'callbacks': None}]
    assert secure.deserialize(secure.serialize(data)) == data


@pytest.mark.parametrize('serializer', ['pickle', 'yaml', 'msgpack'])
def test_round_trip_with_other_inner_serializers(signer, serializer):
    secure = make_serializer(signer, serializer=serializer)
    data = {'args': [1, 2], 'name': 'task'}
    assert secure.deserialize(secure.serialize(data)) == data


def test_wire_layout_is_signer_signature_type_encoding_body(signer):
    secure = make_serializer(signer)
    raw = b64decode(secure.serialize({'a': 1}))
    signer_id = Certificate(signer.cert).get_id().encode()
    assert raw.startswith(signer_id + SEPARATOR)
    rest = raw[len(signer_id) + len(SEPARATOR) + 256:]  # 2048-bit RSA signature
    assert rest == SEPARATOR.join([b'', b'application/json', b'utf-8', b'{"a": 1}'])


def test_tampered_body_is_refused(signer):
    secure = make_serializer(signer)
    raw = b64decode(secure.serialize({'amount': 1}))
    forged = b64encode(raw.replace(b'"amount": 1', b'"amount": 9'))
    with pytest.raises(SecurityError, match='Bad signature'):
        secure.deserialize(forged)


def test_message_from_unknown_signer_is_refused(signer, other_signer):
    intruder = make_serializer(other_signer)
    worker = make_serializer(signer)
    with pytest.raises(SecurityError, match='Unknown certificate'):
        worker.deserialize(intruder.serialize({'a': 1}))


def test_signer_claiming_a_trusted_id_with_another_key_is_refused(signer):
    impostor_pair = make_keypair('signer', serial=1001)  # same issuer and serial
    impostor = make_serializer(impostor_pair)
    worker = make_serializer(signer)
    with pytest.raises(SecurityError, match='Bad signature'):
        worker.deserialize(impostor.serialize({'a': 1}))


@pytest.mark.parametrize('payload', [b'{"plain": "json"}', b'', b'!!not base64!!',
                                     b64encode(b'no separators at all')])
def test_unsigned_payloads_are_refused(signer, payload):
    with pytest.raises(SecurityError):
        make_serializer(signer).deserialize(payload)


def test_other_digest_must_match(signer):
    sha512 = make_serializer(signer, digest='sha512')
    sha256 = make_serializer(signer)
    assert sha512.deserialize(sha512.serialize([1])) == [1]
    with pytest.raises(SecurityError):
        sha256.deserialize(sha512.serialize([1]))


def test_unknown_digest_is_a_clear_error(signer):
    with pytest.raises(SecurityError, match='Unknown digest'):
        make_serializer(signer, digest='md42')


def test_serializing_without_a_key_says_what_to_configure(signer):
    store = CertStore()
    store.add_cert(Certificate(signer.cert))
    with pytest.raises(SecurityError, match='security_key'):
        SecureSerializer(None, None, store).serialize([1])


def test_register_auth_makes_kombu_sign_and_verify(signer, tmp_path):
    (tmp_path / 'signer.pem').write_bytes(signer.cert)
    register_auth(signer.key, None, signer.cert, str(tmp_path))
    content_type, encoding, body = dumps({'k': 'v'}, serializer='auth')
    assert content_type == 'application/data'
    assert loads(body, content_type, encoding, accept={'application/data'}) == {'k': 'v'}


def test_kombu_reports_bad_signature_as_decode_error(signer, other_signer, tmp_path):
    (tmp_path / 'signer.pem').write_bytes(signer.cert)
    register_auth(signer.key, None, signer.cert, str(tmp_path))
    forged = make_serializer(other_signer).serialize({'k': 'v'})
    with pytest.raises(DecodeError):
        registry.loads(forged, 'application/data', 'utf-8', accept={'application/data'})
