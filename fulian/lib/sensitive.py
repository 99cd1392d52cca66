"""Sensitive people data in Django models: encrypted columns, blind indexes, key rotation (DESIGN.md §3).

The crypto lives in ``fulian.lib.crypto`` (no Django); this module connects it to settings and models.

Keys
    ``settings.DATA_KEYS``: the current key first, then old keys kept for decryption during a rotation
    (``FULIAN_DATA_KEY`` / ``FULIAN_DATA_KEY_FILE``, generated into ``DATA_DIR/data_key`` (0600) for the embedded
    default; ``FULIAN_DATA_KEYS_OLD``). Never in the database. ``get_keyring()`` builds the keyring once per set
    of keys. A malformed key fails when a model with an encrypted field loads (every process, at start-up).

``EncryptedTextField(purpose="cases.party.name", kind="name")``
    A TextField that stores the envelope ``v1:<key-id>:<base64url>`` (empty stays ``""``, NULL stays NULL).
    On the model the value is a ``Sensitive`` wrapper, never a bare ``str`` — whether loaded from the database or
    just assigned (``party.name = "张玉梅"`` is wrapped by the field's descriptor). Chosen because:

    * lists stay cheap: loading a row does not decrypt; a value is decrypted on first use and cached;
    * the safe thing is the default: ``str(value)``, ``{{ party.name }}`` and a DRF ``CharField`` give the mask
      (张*梅); ``repr(value)`` gives ``<Sensitive cases.party.name>`` so tracebacks, debug pages and logs never
      carry plaintext; ``json.dumps`` refuses it, so it cannot slip into an audit ``detail``;
    * the plaintext needs a visible, greppable call: ``value.reveal()``. The calling code audits the reveal.

    Encrypted columns cannot be searched: every lookup except ``isnull``, ``exact``/``in`` with an *empty*
    value and ``startswith`` (only meaningful with an envelope prefix; the rotation uses it) raises. Search
    through a blind index. A ModelForm refuses to render an unrevealed value (it would show the mask and save
    it back as the new value): put ``value.reveal()`` into the form's initial data after an audited reveal.
    ``dumpdata`` writes envelopes; ``loaddata`` recognises them (an envelope only counts as one if it
    authenticates under this field's purpose, which no plaintext can).

``BlindIndexField(source="phone")``
    A CharField(32, NULL for an empty value, indexed) holding the keyed hash of the source field's normalised
    plaintext (kind and purpose default to the source field's). We picked a field that recomputes itself in
    ``pre_save`` over "a CharField the action layer keeps in sync": a forgotten update in one action would
    silently break duplicate detection. The one way around ``pre_save`` is ``save(update_fields=[...])``, so
    naming the source without its index raises at once (a ``pre_save`` signal guarding an invariant, no
    business rule); ``QuerySet.update()`` and ``bulk_update()`` on an
    encrypted column bypass it too — don't (the rotation below sets indexes itself). Look up with
    ``index_lookup(Model, "phone_index", typed_value)``: a ``Q`` over the value's index under every key of the
    ring, so it keeps working while a rotation is half done.

Rotation
    ``rotate_model(Model)`` walks the rows whose envelopes are not under the current key (keyset pagination by
    pk, one transaction and row lock per batch) and rewrites ciphertexts and blind indexes under the current key;
    it is resumable (a rerun only finds what is left) and collects undecryptable rows instead of stopping.
    ``key_usage(Model)`` counts values per key id: when no value uses an old key any more, drop it from
    ``FULIAN_DATA_KEYS_OLD``. The command is ``fulian rotate_data_key`` (fulian/accounts/management/commands).
    A model holding more under the key than its columns (encrypted files on disk) declares
    ``sensitive_rotation_fields`` and a ``rotate_sensitive_row(row)`` hook, run for each rewritten row.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models, transaction
from django.db.models.functions import Substr
from django.db.models.lookups import Exact, In, IsNull, StartsWith
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import pre_save
from django.dispatch import receiver

from .crypto import (
    INDEX_HEX_CHARS,
    KINDS,
    CryptoError,
    DecryptionError,
    Keyring,
    key_id_of_envelope,
    looks_like_envelope,
    mask,
)

# --- keyring from settings ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _keyring_for(keys: tuple[str, ...]) -> Keyring:
    try:
        return Keyring(keys)
    except CryptoError as exc:
        raise ImproperlyConfigured(f"FULIAN_DATA_KEY / FULIAN_DATA_KEYS_OLD 配置有误:{exc}") from exc


def get_keyring() -> Keyring:
    return _keyring_for(tuple(getattr(settings, "DATA_KEYS", ()) or ()))


@receiver(setting_changed)
def _keys_changed(*, setting, **kwargs):
    if setting == "DATA_KEYS":
        _keyring_for.cache_clear()


def blind_index(value: str | None, purpose: str, *, kind: str) -> str | None:
    return get_keyring().blind_index(value, purpose, kind=kind)


def blind_index_candidates(value: str | None, purpose: str, *, kind: str) -> list[str]:
    return get_keyring().blind_index_candidates(value, purpose, kind=kind)


# --- the value wrapper ----------------------------------------------------------------------------------


class Sensitive:
    """An encrypted value on a model instance: masked by ``str()``, plaintext only through ``reveal()``."""

    __slots__ = ("purpose", "kind", "_envelope", "_plaintext")

    def __init__(self, *, purpose: str, kind: str, envelope: str | None = None, plaintext: str | None = None):
        if envelope is None and plaintext is None:
            raise ValueError("need an envelope or a plaintext")
        self.purpose = purpose
        self.kind = kind
        self._envelope = envelope
        self._plaintext = plaintext

    def reveal(self) -> str:
        """The plaintext (decrypted once, then cached). Callers showing it to a person must audit that."""
        if self._plaintext is None:
            self._plaintext = get_keyring().decrypt(self._envelope, self.purpose)
        return self._plaintext

    @property
    def masked(self) -> str:
        return mask(self.reveal(), self.kind)

    @property
    def key_id(self) -> str | None:
        """The key the stored envelope was made with (None: not saved yet)."""
        return key_id_of_envelope(self._envelope) if self._envelope else None

    def envelope_for(self, purpose: str) -> str:
        """The envelope to store in a column of this purpose: reused if same purpose and current key."""
        keyring = get_keyring()
        if purpose == self.purpose and self._envelope and keyring.is_current(self._envelope):
            return self._envelope
        envelope = keyring.encrypt(self.reveal(), purpose)
        if purpose == self.purpose:
            self._envelope = envelope
        return envelope

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"<Sensitive {self.purpose}>"

    def __bool__(self) -> bool:
        return True  # empty values are stored as "" and never wrapped

    def __copy__(self) -> Sensitive:
        return Sensitive(
            purpose=self.purpose, kind=self.kind, envelope=self._envelope, plaintext=self._plaintext
        )

    def __deepcopy__(self, memo) -> Sensitive:
        return self.__copy__()

    def __reduce__(self):
        # Pickles (caches, sessions) carry the envelope, never the plaintext.
        return (_restore, (self.purpose, self.kind, self.envelope_for(self.purpose)))


def _restore(purpose: str, kind: str, envelope: str) -> Sensitive:
    return Sensitive(purpose=purpose, kind=kind, envelope=envelope)


# --- the model fields -----------------------------------------------------------------------------------


class _SensitiveAttribute(DeferredAttribute):
    """Wraps whatever is assigned, so the attribute is always a ``Sensitive``, ``""`` or None."""

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = self.field.wrap(value)


class PlaintextLookupError(TypeError):
    pass


class _EmptyOnlyExact(Exact):
    def get_prep_lookup(self):
        if self.rhs in ("", None):
            return self.rhs
        raise PlaintextLookupError("加密字段不能按明文查询,请用盲索引 (index_lookup)")


class _EmptyOnlyIn(In):
    def get_prep_lookup(self):
        if not hasattr(self.rhs, "resolve_expression") and all(v in ("", None) for v in self.rhs):
            return super().get_prep_lookup()
        raise PlaintextLookupError("加密字段不能按明文查询,请用盲索引 (index_lookup)")


_ALLOWED_LOOKUPS = {"isnull": IsNull, "exact": _EmptyOnlyExact, "in": _EmptyOnlyIn, "startswith": StartsWith}


class SensitiveFormField(forms.CharField):
    def prepare_value(self, value):
        if isinstance(value, Sensitive):
            raise PlaintextLookupError(
                "敏感字段不能直接放进表单:先经审计揭示,再把 value.reveal() 作为表单初始值"
            )
        return super().prepare_value(value)


class EncryptedTextField(models.TextField):
    """A text column holding an AES-GCM envelope bound to ``purpose``; the model sees ``Sensitive`` values."""

    descriptor_class = _SensitiveAttribute

    def __init__(self, *args, purpose: str, kind: str = "text", **kwargs):
        if not purpose:
            raise ValueError("EncryptedTextField needs a purpose, e.g. 'cases.party.name'")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.purpose = purpose
        self.kind = kind
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        kwargs["kind"] = self.kind
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        get_keyring()  # fail at start-up (models load in every process), not at the first case intake

    def wrap(self, value):
        if value is None or value == "" or isinstance(value, Sensitive):
            return value
        if not isinstance(value, str):
            value = str(value)
        return Sensitive(purpose=self.purpose, kind=self.kind, plaintext=value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return Sensitive(purpose=self.purpose, kind=self.kind, envelope=value)

    def to_python(self, value):
        if value is None or value == "" or isinstance(value, Sensitive):
            return value
        value = str(value)
        if looks_like_envelope(value):  # loaddata: only a real envelope of this column authenticates
            try:
                plaintext = get_keyring().decrypt(value, self.purpose)
            except DecryptionError:
                return value
            return Sensitive(purpose=self.purpose, kind=self.kind, envelope=value, plaintext=plaintext)
        return value

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        if isinstance(value, Sensitive):
            return value.envelope_for(self.purpose)
        if hasattr(value, "resolve_expression"):
            return value
        return get_keyring().encrypt(str(value), self.purpose)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return value.envelope_for(self.purpose) if isinstance(value, Sensitive) else value

    def get_lookup(self, lookup_name):
        return _ALLOWED_LOOKUPS.get(lookup_name)

    def get_transform(self, lookup_name):
        return None

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SensitiveFormField, **kwargs})


class BlindIndexField(models.CharField):
    """The keyed hash of ``source``'s normalised plaintext, recomputed on every save (see module docstring)."""

    def __init__(self, *args, source: str, kind: str | None = None, purpose: str | None = None, **kwargs):
        self.source = source
        self.index_kind = kind
        self.index_purpose = purpose
        kwargs.setdefault("max_length", INDEX_HEX_CHARS)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if self.index_kind:
            kwargs["kind"] = self.index_kind
        if self.index_purpose:
            kwargs["purpose"] = self.index_purpose
        # this field's own defaults (not Field's): written only where the field differs from them, in either
        # direction (Field.deconstruct leaves out db_index=False, which this field would read back as True)
        for key, default in (
            ("max_length", INDEX_HEX_CHARS),
            ("null", True),
            ("blank", True),
            ("editable", False),
            ("db_index", True),
        ):
            value = getattr(self, key)
            if value == default:
                kwargs.pop(key, None)
            else:
                kwargs[key] = value
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        if not cls._meta.abstract:
            pre_save.connect(
                self._check_update_fields,
                sender=cls,
                weak=False,
                dispatch_uid=f"blind-index:{cls.__module__}.{cls.__qualname__}:{name}",
            )

    def _source_field(self) -> EncryptedTextField:
        source = self.model._meta.get_field(self.source)
        if not isinstance(source, EncryptedTextField):
            raise ImproperlyConfigured(
                f"{self.model.__name__}.{self.name}: source must be an EncryptedTextField"
            )
        return source

    def settings_for_lookup(self) -> tuple[str, str]:
        source = self._source_field()
        return self.index_purpose or source.purpose, self.index_kind or source.kind

    def compute(self, instance) -> str | None:
        value = getattr(instance, self._source_field().attname)
        if not value:
            return None
        plaintext = value.reveal() if isinstance(value, Sensitive) else str(value)
        purpose, kind = self.settings_for_lookup()
        return get_keyring().blind_index(plaintext, purpose, kind=kind)

    def pre_save(self, model_instance, add):
        value = self.compute(model_instance)
        setattr(model_instance, self.attname, value)
        return value

    def candidates(self, value: str | None) -> list[str]:
        purpose, kind = self.settings_for_lookup()
        return get_keyring().blind_index_candidates(value, purpose, kind=kind)

    def _check_update_fields(self, sender, instance, update_fields=None, **kwargs):
        if update_fields and self.source in update_fields and self.name not in update_fields:
            raise ImproperlyConfigured(
                f"{sender.__name__}.save(update_fields=...) names {self.source!r} but not its blind index "
                f"{self.name!r}: add it, or the index goes stale"
            )


def index_lookup(model: type[models.Model], index_name: str, value: str | None) -> models.Q:
    """``Q`` matching rows whose index equals the value's (under any key of the ring); nothing if empty."""
    index = model._meta.get_field(index_name)
    if not isinstance(index, BlindIndexField):
        raise TypeError(f"{model.__name__}.{index_name} is not a BlindIndexField")
    candidates = index.candidates(value)
    if not candidates:
        return models.Q(pk__in=[])
    return models.Q(**{f"{index.name}__in": candidates})


# --- rotation -------------------------------------------------------------------------------------------


@dataclass
class ModelRotation:
    label: str
    rows_rewritten: int = 0
    values_reencrypted: int = 0
    failed_pks: list = field(default_factory=list)


def sensitive_fields(model: type[models.Model]) -> tuple[list[EncryptedTextField], list[BlindIndexField]]:
    concrete = model._meta.concrete_fields
    return (
        [f for f in concrete if isinstance(f, EncryptedTextField)],
        [f for f in concrete if isinstance(f, BlindIndexField)],
    )


def sensitive_models() -> list[type[models.Model]]:
    """Every installed concrete model with at least one EncryptedTextField."""
    return [m for m in apps.get_models() if not m._meta.proxy and m._meta.managed and sensitive_fields(m)[0]]


def _stale(encrypted: Iterable[EncryptedTextField], key_id: str) -> models.Q:
    condition = models.Q(pk__in=[])
    for f in encrypted:
        condition |= (
            models.Q(**{f"{f.name}__isnull": False})
            & ~models.Q(**{f.name: ""})
            & ~models.Q(**{f"{f.name}__startswith": f"v1:{key_id}:"})
        )
    return condition


def key_usage(model: type[models.Model]) -> Counter:
    """How many stored values of the model use each key id."""
    usage: Counter = Counter()
    encrypted, _ = sensitive_fields(model)
    for f in encrypted:
        rows = (
            model._base_manager.exclude(**{f"{f.name}__isnull": True})
            .exclude(**{f.name: ""})
            .annotate(_kid=Substr(f.name, 4, 8, output_field=models.CharField()))
            .values("_kid")
            .annotate(n=models.Count("pk"))
            .order_by()
        )
        for row in rows:
            usage[row["_kid"]] += row["n"]
    return usage


def rotate_model(
    model: type[models.Model],
    *,
    batch_size: int = 500,
    reindex: bool = False,
    progress: Callable[[ModelRotation], None] | None = None,
) -> ModelRotation:
    """Re-encrypt (and re-index) every value of ``model`` not under the current key; ``reindex``: every row."""
    keyring = get_keyring()
    current = keyring.current.key_id
    encrypted, indexes = sensitive_fields(model)
    result = ModelRotation(model._meta.label)
    if not encrypted:
        return result
    names = [f.name for f in encrypted] + [f.name for f in indexes]
    # a model may keep more under the key than its columns (fulian.files: encrypted blobs on disk): it names the
    # columns its hook rewrites and ``rotate_sensitive_row(row)``, called with the row locked, re-encrypts the rest
    names += list(getattr(model, "sensitive_rotation_fields", ()))
    row_hook = getattr(model, "rotate_sensitive_row", None)
    base = model._base_manager.order_by("pk")
    if not reindex:
        base = base.filter(_stale(encrypted, current))
    last_pk = None
    while True:
        with transaction.atomic():
            batch = base if last_pk is None else base.filter(pk__gt=last_pk)
            rows = list(batch.select_for_update().only("pk", *names)[:batch_size])
            if not rows:
                break
            last_pk = rows[-1].pk
            changed = []
            for row in rows:
                try:
                    count = _rotate_row(row, encrypted, indexes, current, reindex)
                    if row_hook is not None:
                        row_hook(row)
                except DecryptionError:
                    result.failed_pks.append(row.pk)
                    continue
                result.values_reencrypted += count
                changed.append(row)
            for row in changed:  # one UPDATE a row: several times faster than bulk_update's CASE WHEN
                model._base_manager.filter(pk=row.pk).update(**{n: getattr(row, n) for n in names})
            result.rows_rewritten += len(changed)
        if progress is not None:
            progress(result)
    return result


def _rotate_row(row, encrypted, indexes, current: str, reindex: bool) -> int:
    keyring = get_keyring()
    count = 0
    fresh = {}
    for f in encrypted:
        value = getattr(row, f.attname)
        if isinstance(value, Sensitive) and (reindex or value.key_id != current):
            plaintext = value.reveal()  # DecryptionError: leave the whole row as it is
            fresh[f.attname] = Sensitive(
                purpose=f.purpose,
                kind=f.kind,
                envelope=keyring.encrypt(plaintext, f.purpose),
                plaintext=plaintext,
            )
            count += 1
    for attname, value in fresh.items():
        setattr(row, attname, value)
    for index in indexes:
        setattr(row, index.attname, index.compute(row))
    return count
