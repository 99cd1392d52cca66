"""Field encryption, the keyring, blind indexes and masks (fulian.lib.crypto, no database)."""

import base64

import pytest

from fulian.lib.crypto import (
    DataKey,
    DecryptionError,
    KeyConfigError,
    Keyring,
    UnknownKeyError,
    generate_key,
    key_id_of_envelope,
    mask,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_phone,
)

KEY_A = generate_key()
KEY_B = generate_key()
PURPOSE = "cases.party.name"


def _b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _flip_last_byte(envelope):
    head, body = envelope.rsplit(":", 1)
    blob = bytearray(_b64(body))
    blob[-1] ^= 0x01
    return f"{head}:{base64.urlsafe_b64encode(bytes(blob)).rstrip(b'=').decode()}"


def test_round_trip_and_envelope_shape():
    ring = Keyring([KEY_A])
    envelope = ring.encrypt("张玉梅", PURPOSE)
    version, key_id, body = envelope.split(":")
    assert (version, key_id) == ("v1", ring.current.key_id)
    assert len(_b64(body)) == 12 + 16 + 16  # nonce, one padded block, tag
    assert ring.decrypt(envelope, PURPOSE) == "张玉梅"
    assert ring.decrypt(ring.encrypt("", PURPOSE), PURPOSE) == ""
    long_text = "丈夫多次殴打" * 30000
    assert ring.decrypt(ring.encrypt(long_text, "cases.case.account"), "cases.case.account") == long_text


def test_same_value_encrypts_differently_every_time():
    ring = Keyring([KEY_A])
    assert ring.encrypt("13800138000", PURPOSE) != ring.encrypt("13800138000", PURPOSE)


def test_padding_hides_short_lengths():
    ring = Keyring([KEY_A])
    assert len(ring.encrypt("张梅", PURPOSE)) == len(ring.encrypt("欧阳娜娜", PURPOSE))


def test_tampered_ciphertext_is_refused():
    ring = Keyring([KEY_A])
    envelope = ring.encrypt("张玉梅", PURPOSE)
    with pytest.raises(DecryptionError):
        ring.decrypt(_flip_last_byte(envelope), PURPOSE)
    with pytest.raises(DecryptionError):
        ring.decrypt(envelope[:-4], PURPOSE)
    with pytest.raises(DecryptionError):
        ring.decrypt("张玉梅", PURPOSE)


def test_wrong_purpose_is_refused():
    ring = Keyring([KEY_A])
    envelope = ring.encrypt("张玉梅", "cases.party.name")
    with pytest.raises(DecryptionError):
        ring.decrypt(envelope, "care.person.name")


def test_edited_key_id_is_refused():
    ring = Keyring([KEY_A, KEY_B])
    envelope = ring.encrypt("张玉梅", PURPOSE)
    other_id = DataKey.from_text(KEY_B).key_id
    with pytest.raises(DecryptionError):
        ring.decrypt(envelope.replace(ring.current.key_id, other_id), PURPOSE)


def test_old_key_decrypts_after_rotation_and_reencrypt_moves_to_new_key():
    old_ring = Keyring([KEY_A])
    envelope = old_ring.encrypt("13800138000", PURPOSE)
    rotated = Keyring([KEY_B, KEY_A])
    assert rotated.decrypt(envelope, PURPOSE) == "13800138000"
    assert not rotated.is_current(envelope)
    fresh = rotated.reencrypt(envelope, PURPOSE)
    assert key_id_of_envelope(fresh) == DataKey.from_text(KEY_B).key_id
    assert rotated.reencrypt(fresh, PURPOSE) == fresh
    only_new = Keyring([KEY_B])
    assert only_new.decrypt(fresh, PURPOSE) == "13800138000"
    with pytest.raises(UnknownKeyError):
        only_new.decrypt(envelope, PURPOSE)


def test_key_ids_are_derived_and_do_not_reveal_the_key():
    key = DataKey.from_text(KEY_A)
    assert key == DataKey.from_text(KEY_A)
    assert key.key_id != DataKey.from_text(KEY_B).key_id
    assert len(key.key_id) == 8
    assert key.key_id not in _b64(KEY_A).hex()
    assert key.encrypt_key != key.index_key
    assert _b64(KEY_A) not in (key.encrypt_key, key.index_key)
    assert KEY_A not in repr(key) and key.encrypt_key.hex() not in repr(key)


def test_bad_keys_are_refused():
    with pytest.raises(KeyConfigError):
        Keyring([])
    with pytest.raises(KeyConfigError):
        Keyring(["dG9vIHNob3J0"])  # "too short"
    with pytest.raises(KeyConfigError):
        Keyring(["not base64 at all!"])
    assert Keyring([KEY_A + "="]).current.key_id == Keyring([KEY_A]).current.key_id


def test_blind_index_normalises_phone_numbers():
    ring = Keyring([KEY_A])
    a = ring.blind_index("138 0013 8000", "person.phone", kind="phone")
    assert a == ring.blind_index("+86 13800138000", "person.phone", kind="phone")
    assert a == ring.blind_index("0086-138-0013-8000", "person.phone", kind="phone")
    assert a == ring.blind_index("１３８００１３８０００", "person.phone", kind="phone")
    assert a != ring.blind_index("13800138001", "person.phone", kind="phone")
    assert a != ring.blind_index("13800138000", "person.safe_phone", kind="phone")
    assert len(a) == 32 and int(a, 16) >= 0
    assert "13800138000" not in a
    assert ring.blind_index("  ", "person.phone", kind="phone") is None


def test_blind_index_normalises_id_numbers_and_names():
    ring = Keyring([KEY_A])
    assert ring.blind_index("11010519491231002x", "p", kind="idcard") == ring.blind_index(
        " 110105 19491231 002X ", "p", kind="idcard"
    )
    assert ring.blind_index(" 张玉梅 ", "p", kind="name") == ring.blind_index("张玉梅", "p", kind="name")
    assert ring.blind_index("买买提•艾力", "p", kind="name") == ring.blind_index(
        "买买提·艾力", "p", kind="name"
    )
    assert ring.blind_index("张玉梅", "p", kind="name") != ring.blind_index("张玉兰", "p", kind="name")


def test_blind_index_changes_with_the_key_and_candidates_cover_the_ring():
    """Decision (docstring of crypto.py): one index key per data key; lookups use every key's index."""
    old, new = Keyring([KEY_A]), Keyring([KEY_B, KEY_A])
    old_index = old.blind_index("13800138000", "p", kind="phone")
    new_index = new.blind_index("13800138000", "p", kind="phone")
    assert old_index != new_index
    assert new.blind_index_candidates("138 0013 8000", "p", kind="phone") == [new_index, old_index]
    assert Keyring([KEY_B]).blind_index_candidates("13800138000", "p", kind="phone") == [new_index]
    assert new.blind_index_candidates("", "p", kind="phone") == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("013800138000", "13800138000"),
        ("+86 791 8612 3456", "079186123456"),
        ("+86 10 6234 5678", "01062345678"),
        ("0791-86123456", "079186123456"),
        ("86123456", "86123456"),
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张梅", "张*"), ("张玉梅", "张*梅"), ("欧阳娜娜", "欧**娜"), ("梅", "*"), ("", "")],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("0791-86123456") == "079*****3456"
    assert mask_id_number("360102199001011234") == "3601**********1234"
    assert mask_id_number("11010519491231002x") == "1101**********002X"
    assert mask_address("江西省南昌市青山湖区某街道12号") == "江西省南昌市***"
    assert mask_address("甲一村3组") == "甲一***"
    assert mask("丈夫打我", "text") == "***"
    assert mask("", "phone") == "" and mask(None, "address") == ""
    with pytest.raises(ValueError):
        mask("x", "colour")
