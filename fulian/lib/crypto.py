"""Field encryption, keyed blind indexes and display masks for sensitive people data (no Django here).

DESIGN.md §3: names, ID numbers, phones and addresses of case parties and people in care are encrypted at rest
with a key kept outside the database; exact-match lookup goes through a keyed hash, never by decrypting.

Keys
    A data key is 32 random bytes, written base64url (``generate_key()``). It is never used directly: HKDF-SHA256
    derives from it an encryption sub-key, a blind-index sub-key and a short public key id, each with its own
    ``info`` label, so the same key material is never used for two jobs. The key id (8 hex characters) is a PRF
    output: it names the key in envelopes without revealing anything about it.

Envelope (one text column)
    ``v1:<key-id>:<base64url(nonce | ciphertext | tag)>`` with AES-256-GCM, a fresh random 96-bit nonce per value,
    and associated data ``fulian:v1:<key-id>:<purpose>``. The purpose (e.g. ``cases.party.name``) binds the value
    to its column: a ciphertext copied into another column, or an envelope whose key id was edited, fails to
    decrypt. The plaintext (UTF-8) is padded (ISO/IEC 7816-4: 0x80 then zeros) to a multiple of 16 bytes before
    encryption, so a dump shows only a length bucket, not whether a name has two or three characters.

Keyring and rotation
    ``Keyring([current, old1, old2, ...])`` encrypts with the first key and decrypts with any of them (chosen by
    the key id in the envelope). Rotation = put a new key first, keep the old one behind it, re-encrypt every value
    (``Keyring.reencrypt``), then drop the old key.

Blind index — decision: one index key per data key, re-indexed on rotation
    ``Keyring.blind_index(value, purpose, kind=...)`` is HMAC-SHA256 under the *current* key's index sub-key over
    ``purpose NUL normalised-value``, hex, truncated to 32 characters (128 bits). We chose per-version index keys
    over one index key that must never change: an index key that leaks lets an attacker with a dump test every
    mobile number (only ~10^9 of them), so it must be rotatable like the encryption key. The price: while a
    rotation runs, rows carry indexes from either key, so lookups use ``Keyring.blind_index_candidates`` (one
    hash per key in the ring, matched with ``IN``) and the rotation recomputes every index together with the
    ciphertext. Once the old key is dropped there is one candidate again. A unique constraint on an index
    column can miss a duplicate only inside a rotation window.

Masks
    ``mask(value, kind)``: names 张*梅, phones 138****5678, ID numbers 3601**********1234, addresses keep the first
    few characters then ***. Masked values are what lists show; revealing the plaintext is an audited act of the
    calling code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
PAD_BLOCK = 16
INDEX_HEX_CHARS = 32
KEY_ID_CHARS = 8

_INFO_ENCRYPT = b"fulian/v1/field-encryption"
_INFO_INDEX = b"fulian/v1/blind-index"
_INFO_KEY_ID = b"fulian/v1/key-id"

ENVELOPE_RE = re.compile(r"^v1:([0-9a-f]{8}):([A-Za-z0-9_-]+)$")

KINDS = ("name", "phone", "idcard", "address", "text")


class CryptoError(Exception):
    """Base class: bad key material, or a value that cannot be decrypted."""


class KeyConfigError(CryptoError):
    """A data key that is not 32 bytes of base64url, or two keys with the same id."""


class DecryptionError(CryptoError):
    """The envelope is malformed, was made with another key or purpose, or was tampered with."""


class UnknownKeyError(DecryptionError):
    """The envelope names a key id that is not in the keyring (an old key dropped too early?)."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_key() -> str:
    """A new data key: 32 random bytes, base64url without padding (43 characters)."""
    return _b64encode(os.urandom(KEY_BYTES))


def parse_key(text: str | bytes) -> bytes:
    """Key text (base64url, padding optional) → 32 raw bytes, or KeyConfigError."""
    if isinstance(text, bytes):
        if len(text) == KEY_BYTES:
            return text
        text = text.decode("ascii", errors="replace")
    text = text.strip()
    try:
        raw = _b64decode(text.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError("数据密钥不是有效的 base64url 文本") from exc
    if len(raw) != KEY_BYTES:
        raise KeyConfigError(f"数据密钥应为 {KEY_BYTES} 字节(当前 {len(raw)} 字节);请用 generate_key() 生成")
    return raw


def _hkdf(key: bytes, info: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


@dataclass(frozen=True)
class DataKey:
    """One data key's derived material. ``key_id`` is public; the sub-keys are not."""

    key_id: str
    encrypt_key: bytes = field(repr=False)
    index_key: bytes = field(repr=False)

    @classmethod
    def from_text(cls, text: str | bytes) -> DataKey:
        raw = parse_key(text)
        return cls(
            key_id=_hkdf(raw, _INFO_KEY_ID, KEY_ID_CHARS // 2).hex(),
            encrypt_key=_hkdf(raw, _INFO_ENCRYPT),
            index_key=_hkdf(raw, _INFO_INDEX),
        )


def key_id_of_envelope(envelope: str) -> str:
    """The key id inside an envelope (DecryptionError if it is not one)."""
    match = ENVELOPE_RE.match(envelope or "")
    if not match:
        raise DecryptionError("不是有效的加密数据")
    return match.group(1)


BLOB_MAGIC = b"FLNCENC1"


def key_id_of_blob(blob: bytes) -> str:
    """The key id in the header of an encrypted file (DecryptionError if it has none)."""
    head = blob[len(BLOB_MAGIC) : len(BLOB_MAGIC) + KEY_ID_CHARS]
    if not blob.startswith(BLOB_MAGIC) or len(head) != KEY_ID_CHARS:
        raise DecryptionError("不是有效的加密文件")
    try:
        key_id = head.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecryptionError("不是有效的加密文件") from exc
    if not re.fullmatch(r"[0-9a-f]{8}", key_id):
        raise DecryptionError("不是有效的加密文件")
    return key_id


def _blob_associated_data(key_id: str, purpose: str) -> bytes:
    return f"fulian:file:{VERSION}:{key_id}:{purpose}".encode()


def looks_like_envelope(value: object) -> bool:
    return isinstance(value, str) and ENVELOPE_RE.match(value) is not None


def _associated_data(key_id: str, purpose: str) -> bytes:
    return f"fulian:{VERSION}:{key_id}:{purpose}".encode()


def _pad(data: bytes) -> bytes:
    data += b"\x80"
    return data + b"\x00" * (-len(data) % PAD_BLOCK)


def _unpad(data: bytes) -> bytes:
    end = data.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise DecryptionError("加密数据的填充无效")
    return end[:-1]


class Keyring:
    """The current key (first) encrypts and indexes; every key decrypts its own envelopes."""

    def __init__(self, keys: Iterable[str | bytes]):
        loaded = [DataKey.from_text(k) for k in keys if k]
        if not loaded:
            raise KeyConfigError("没有配置数据密钥(FULIAN_DATA_KEY)")
        by_id: dict[str, DataKey] = {}
        for key in loaded:
            other = by_id.get(key.key_id)
            if other is not None and other != key:
                raise KeyConfigError(f"两个不同的数据密钥有相同的编号 {key.key_id};请换一个新密钥")
            by_id.setdefault(key.key_id, key)
        self.current = loaded[0]
        self._by_id = by_id

    def __repr__(self) -> str:
        return f"<Keyring current={self.current.key_id} keys={list(self._by_id)}>"

    @property
    def key_ids(self) -> list[str]:
        return list(self._by_id)

    # --- encryption ------------------------------------------------------------------------------------

    def encrypt(self, plaintext: str, purpose: str) -> str:
        if not purpose:
            raise ValueError("purpose is required")
        key = self.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key.encrypt_key).encrypt(
            nonce, _pad(plaintext.encode("utf-8")), _associated_data(key.key_id, purpose)
        )
        return f"{VERSION}:{key.key_id}:{_b64encode(nonce + sealed)}"

    def decrypt(self, envelope: str, purpose: str) -> str:
        match = ENVELOPE_RE.match(envelope or "")
        if not match:
            raise DecryptionError("不是有效的加密数据")
        key_id, body = match.groups()
        key = self._by_id.get(key_id)
        if key is None:
            raise UnknownKeyError(f"加密数据使用的密钥 {key_id} 不在当前密钥环中")
        try:
            blob = _b64decode(body)
        except (binascii.Error, ValueError) as exc:
            raise DecryptionError("加密数据已损坏") from exc
        if len(blob) < NONCE_BYTES + TAG_BYTES + PAD_BLOCK:
            raise DecryptionError("加密数据已损坏")
        try:
            padded = AESGCM(key.encrypt_key).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(key_id, purpose)
            )
        except InvalidTag as exc:
            raise DecryptionError("加密数据校验失败(被篡改,或用途/密钥不符)") from exc
        return _unpad(padded).decode("utf-8")

    def is_current(self, envelope: str) -> bool:
        return key_id_of_envelope(envelope) == self.current.key_id

    def reencrypt(self, envelope: str, purpose: str) -> str:
        """The same plaintext under the current key (unchanged if it already is)."""
        if self.is_current(envelope):
            self.decrypt(envelope, purpose)  # still authenticate it
            return envelope
        return self.encrypt(self.decrypt(envelope, purpose), purpose)

    # --- files (binary) -------------------------------------------------------------------------------

    def encrypt_bytes(self, data: bytes, purpose: str) -> bytes:
        """A file's bytes sealed under the current key: ``BLOB_MAGIC`` + key id (8 ASCII hex) + nonce +
        AES-256-GCM ciphertext and tag, the purpose and the key id bound as associated data (a blob moved to
        another purpose does not open). Not padded: the size is no secret of a stored file."""
        if not purpose:
            raise ValueError("purpose is required")
        key = self.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key.encrypt_key).encrypt(nonce, data, _blob_associated_data(key.key_id, purpose))
        return BLOB_MAGIC + key.key_id.encode("ascii") + nonce + sealed

    def decrypt_bytes(self, blob: bytes, purpose: str) -> bytes:
        key_id = key_id_of_blob(blob)
        key = self._by_id.get(key_id)
        if key is None:
            raise UnknownKeyError(f"加密文件使用的密钥 {key_id} 不在当前密钥环中")
        start = len(BLOB_MAGIC) + KEY_ID_CHARS
        if len(blob) < start + NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("加密文件已损坏")
        try:
            return AESGCM(key.encrypt_key).decrypt(
                blob[start : start + NONCE_BYTES],
                blob[start + NONCE_BYTES :],
                _blob_associated_data(key_id, purpose),
            )
        except InvalidTag as exc:
            raise DecryptionError("加密文件校验失败(被篡改,或用途/密钥不符)") from exc

    # --- blind index -----------------------------------------------------------------------------------

    def blind_index(self, value: str | None, purpose: str, *, kind: str) -> str | None:
        """Keyed hash of the normalised value under the current key; None for an empty value."""
        return _blind_index(self.current, value, purpose, kind)

    def blind_index_candidates(self, value: str | None, purpose: str, *, kind: str) -> list[str]:
        """The value's index under every key of the ring (current first): match with ``IN`` during a rotation."""
        out: list[str] = []
        for key in self._by_id.values():
            digest = _blind_index(key, value, purpose, kind)
            if digest is not None and digest not in out:
                out.append(digest)
        return out


def _blind_index(key: DataKey, value: str | None, purpose: str, kind: str) -> str | None:
    if not purpose:
        raise ValueError("purpose is required")
    normalised = normalize(value, kind)
    if not normalised:
        return None
    message = purpose.encode() + b"\x00" + normalised.encode("utf-8")
    return hmac.new(key.index_key, message, hashlib.sha256).hexdigest()[:INDEX_HEX_CHARS]


# --- normalisation (for the blind index) --------------------------------------------------------------

_NON_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")
_ID_DROP = re.compile(r"[\s\-]+")
_MIDDLE_DOTS = str.maketrans({c: "·" for c in "•‧∙⋅・･"})


def normalize_phone(value: str | None) -> str:
    """Digits only; +86 / 0086 / 86 country prefix and a long-distance 0 before a mobile dropped.

    ``138 0013 8000``, ``+86 13800138000`` and ``0086-138-0013-8000`` all give ``13800138000``;
    ``+86 791 8612 3456`` gives ``079186123456`` (the domestic form of a landline).
    """
    digits = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", value or ""))
    if digits.startswith("0086"):
        digits = digits[2:]
    if digits.startswith("86") and len(digits) >= 11:
        rest = digits[2:]
        if len(rest) == 11 and rest.startswith("1"):
            digits = rest
        elif not rest.startswith("0"):
            digits = "0" + rest
        else:
            digits = rest
    if len(digits) == 12 and digits.startswith("01") and digits[2] in "3456789":
        digits = digits[1:]
    return digits


def normalize_id_number(value: str | None) -> str:
    """NFKC (full-width digits → ASCII), spaces and hyphens removed, x → X."""
    return _ID_DROP.sub("", unicodedata.normalize("NFKC", value or "")).upper()


def normalize_name(value: str | None) -> str:
    """NFKC, stripped, inner whitespace collapsed, middle dots unified (买买提·艾力), case-folded."""
    text = unicodedata.normalize("NFKC", value or "").translate(_MIDDLE_DOTS)
    return _SPACES.sub(" ", text).strip().casefold()


def normalize_text(value: str | None) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value or "")).strip()


_NORMALIZERS = {
    "name": normalize_name,
    "phone": normalize_phone,
    "idcard": normalize_id_number,
    "address": normalize_text,
    "text": normalize_text,
}


def normalize(value: str | None, kind: str) -> str:
    try:
        return _NORMALIZERS[kind](value)
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}") from None


# --- masks (for display) ------------------------------------------------------------------------------


def mask_name(value: str | None) -> str:
    """张梅 → 张*, 张玉梅 → 张*梅, 欧阳娜娜 → 欧**娜 (first and last kept from three characters on)."""
    name = (value or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(value: str | None) -> str:
    """13800138000 → 138****8000; other numbers keep their first three and last four digits."""
    digits = normalize_phone(value)
    if not digits:
        return ""
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_id_number(value: str | None) -> str:
    """360102199001011234 → 3601**********1234."""
    number = normalize_id_number(value)
    if len(number) >= 9:
        return number[:4] + "*" * (len(number) - 8) + number[-4:]
    return "*" * len(number)


def mask_address(value: str | None) -> str:
    """Keep the first six characters (fewer for a short address), then ***."""
    text = (value or "").strip()
    if not text:
        return ""
    keep = min(6, max(1, len(text) // 2))
    return text[:keep] + "***"


def mask_text(value: str | None) -> str:
    """Free text (a case account) shows nothing of itself."""
    return "***" if (value or "").strip() else ""


_MASKS = {
    "name": mask_name,
    "phone": mask_phone,
    "idcard": mask_id_number,
    "address": mask_address,
    "text": mask_text,
}


def mask(value: str | None, kind: str) -> str:
    try:
        return _MASKS[kind](value)
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}") from None
