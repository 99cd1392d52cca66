"""Encrypted model fields, blind indexes and key rotation on a real table (SQLite and PostgreSQL).

No domain model uses the fields yet, so a test-only model is created in an isolated app registry and its table
is created and dropped around each test (a transactional test: SQLite's schema editor refuses to run inside the
test's transaction).
"""

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.test.utils import isolate_apps

from fulian.audit.models import AuditEvent
from fulian.lib import crypto
from fulian.lib.crypto import DataKey, DecryptionError, UnknownKeyError, generate_key
from fulian.lib.sensitive import (
    BlindIndexField,
    EncryptedTextField,
    PlaintextLookupError,
    Sensitive,
    get_keyring,
    index_lookup,
    key_usage,
    rotate_model,
)

KEY_A = generate_key()
KEY_B = generate_key()
ID_A = DataKey.from_text(KEY_A).key_id
ID_B = DataKey.from_text(KEY_B).key_id


@pytest.fixture
def keys(settings):
    settings.DATA_KEYS = [KEY_A]
    return settings


@pytest.fixture
def Person(transactional_db, keys):
    with isolate_apps("fulian.lib"):

        class Person(models.Model):
            name = EncryptedTextField(purpose="tests.person.name", kind="name", blank=True)
            phone = EncryptedTextField(purpose="tests.person.phone", kind="phone", blank=True)
            phone_index = BlindIndexField(source="phone")
            id_number = EncryptedTextField(purpose="tests.person.id_number", kind="idcard", blank=True)
            id_index = BlindIndexField(source="id_number")
            note = EncryptedTextField(purpose="tests.person.note", null=True, blank=True)
            age = models.IntegerField(default=0)

            class Meta:
                app_label = "lib"

            def __str__(self):
                return str(self.name)

        with connection.schema_editor() as editor:
            editor.create_model(Person)
        try:
            yield Person
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Person)


def _raw_rows(model):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {model._meta.db_table} ORDER BY id")
        return cursor.fetchall()


def _make(Person, n=1, **overrides):
    out = []
    for i in range(n):
        fields = dict(
            name="张玉梅", phone=f"1380013800{i}", id_number="11010519491231002X", note="丈夫多次殴打"
        )
        fields.update(overrides)
        out.append(Person.objects.create(**fields))
    return out


def test_values_are_wrapped_masked_and_revealed_only_on_request(Person):
    (person,) = _make(Person)
    assert isinstance(person.name, Sensitive)  # assigned plaintext is wrapped too
    loaded = Person.objects.get(pk=person.pk)
    assert isinstance(loaded.name, Sensitive)
    assert str(loaded.name) == "张*梅"
    assert str(loaded) == "张*梅"
    assert f"{loaded.phone}" == "138****8000"
    assert str(loaded.id_number) == "1101**********002X"
    assert loaded.name.reveal() == "张玉梅"
    assert loaded.note.reveal() == "丈夫多次殴打"
    assert "张玉梅" not in repr(loaded.__dict__) and "13800138000" not in repr(loaded.__dict__)
    assert repr(loaded.name) == "<Sensitive tests.person.name>"
    with pytest.raises(TypeError):
        json.dumps({"name": loaded.name})


def test_database_dump_contains_no_plaintext(Person):
    _make(Person, name="欧阳娜娜", phone="+86 139 1234 5678", note="住在甲一村3组,丈夫威胁要杀她")
    (row,) = _raw_rows(Person)
    dump = " ".join(str(v) for v in row)
    # (Only Chinese text and long digit runs: short digit runs occur by chance in hex indexes and base64.)
    for secret in ("欧阳", "娜娜", "13912345678", "11010519491231002X", "19491231", "甲一村", "丈夫", "杀"):
        assert secret not in dump
    assert sum(str(v).startswith(f"v1:{ID_A}:") for v in row) == 4
    if connection.vendor == "sqlite":
        assert not any("欧阳" in line or "13912345678" in line for line in connection.connection.iterdump())


def test_loading_a_list_decrypts_nothing_until_a_value_is_shown(Person, monkeypatch):
    _make(Person, n=5)
    calls = []
    real = crypto.Keyring.decrypt
    monkeypatch.setattr(crypto.Keyring, "decrypt", lambda self, e, p: calls.append(p) or real(self, e, p))
    people = list(Person.objects.order_by("pk"))
    assert [p.age for p in people] == [0] * 5
    assert calls == []
    assert str(people[0].phone) == "138****8000"
    assert str(people[0].phone) == "138****8000"
    assert calls == ["tests.person.phone"]


def test_a_broken_key_fails_when_models_load(settings):
    settings.DATA_KEYS = ["dG9vIHNob3J0"]
    with isolate_apps("fulian.lib"), pytest.raises(ImproperlyConfigured, match="FULIAN_DATA_KEY"):

        class Broken(models.Model):  # noqa: DJ008
            name = EncryptedTextField(purpose="tests.broken.name")

            class Meta:
                app_label = "lib"


def test_empty_and_null_are_stored_as_such(Person):
    person = Person.objects.create(name="", phone="", id_number="", note=None)
    assert _raw_rows(Person)[0][1:] == ("", "", None, "", None, None, 0)
    person = Person.objects.get(pk=person.pk)
    assert (person.name, person.note, person.phone_index) == ("", None, None)
    assert Person.objects.filter(name="").count() == 1
    assert Person.objects.filter(note__isnull=True).count() == 1
    assert Person.objects.filter(note=None).count() == 1
    assert Person.objects.filter(name__in=["", None]).count() == 1


def test_plaintext_lookups_are_refused(Person):
    _make(Person)
    with pytest.raises(PlaintextLookupError):
        Person.objects.filter(name="张玉梅").count()
    with pytest.raises(PlaintextLookupError):
        Person.objects.filter(phone__in=["13800138000"]).count()
    with pytest.raises(Exception, match="Unsupported lookup"):
        Person.objects.filter(name__contains="玉").count()


def test_exact_match_goes_through_the_blind_index(Person):
    first, second = _make(Person, n=2)
    _make(Person, phone="13900000000", id_number="")
    assert list(Person.objects.filter(index_lookup(Person, "phone_index", "+86 138 0013 8000"))) == [first]
    assert list(Person.objects.filter(index_lookup(Person, "phone_index", "138-0013-8001"))) == [second]
    assert Person.objects.filter(index_lookup(Person, "id_index", "11010519491231002x")).count() == 2
    assert not Person.objects.filter(index_lookup(Person, "phone_index", "")).exists()
    assert not Person.objects.filter(index_lookup(Person, "phone_index", "13700000000")).exists()
    # The same number under another column's purpose has another index.
    assert first.phone_index != get_keyring().blind_index("13800138000", "tests.other", kind="phone")


def test_index_follows_a_changed_value_and_update_fields_must_name_it(Person):
    (person,) = _make(Person)
    person.phone = "13911112222"
    with pytest.raises(ImproperlyConfigured, match="phone_index"):
        person.save(update_fields=["phone"])
    person.save(update_fields=["phone", "phone_index"])
    assert list(Person.objects.filter(index_lookup(Person, "phone_index", "13911112222"))) == [person]
    assert not Person.objects.filter(index_lookup(Person, "phone_index", "13800138000")).exists()
    person.age = 40
    person.save(update_fields=["age"])  # unrelated fields need nothing


def test_ciphertext_moved_to_another_column_does_not_decrypt(Person):
    (person,) = _make(Person)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Person._meta.db_table} SET note = name WHERE id = %s", [person.pk])
    moved = Person.objects.get(pk=person.pk)
    with pytest.raises(DecryptionError):
        moved.note.reveal()


def test_unchanged_values_keep_their_envelope_and_copies_are_reencrypted(Person):
    a, b = _make(Person, n=2)
    before = _raw_rows(Person)[0]
    a = Person.objects.get(pk=a.pk)
    a.age = 50
    a.save()
    assert _raw_rows(Person)[0][1:4] == before[1:4]
    b.note = a.name  # a value moved between columns through the model is re-encrypted for its column
    b.save()
    assert Person.objects.get(pk=b.pk).note.reveal() == "张玉梅"


def test_pickles_and_dumps_carry_only_envelopes(Person):
    (person,) = _make(Person)
    person = Person.objects.get(pk=person.pk)
    person.name.reveal()
    data = pickle.dumps(person)  # (the test model's registry is isolated: it cannot be unpickled here)
    assert "张玉梅".encode() not in data and b"13800138000" not in data
    value = pickle.dumps(person.name)
    assert "张玉梅".encode() not in value
    assert pickle.loads(value).reveal() == "张玉梅"
    field = Person._meta.get_field("name")
    envelope = field.value_to_string(person)
    assert envelope.startswith(f"v1:{ID_A}:")
    restored = field.to_python(envelope)
    assert isinstance(restored, Sensitive) and restored.reveal() == "张玉梅"
    assert Person._meta.get_field("note").to_python(envelope) == envelope  # other purpose: just text


def test_model_form_refuses_to_render_an_unrevealed_value(Person):
    (person,) = _make(Person)

    class PersonForm(forms.ModelForm):
        class Meta:
            model = Person
            fields = ["name"]

    with pytest.raises(PlaintextLookupError):
        str(PersonForm(instance=Person.objects.get(pk=person.pk))["name"])
    form = PersonForm({"name": "李秀英"}, instance=person)
    assert form.is_valid()
    assert form.save().name.reveal() == "李秀英"


def test_old_key_still_decrypts_after_the_key_changes(Person, keys):
    (person,) = _make(Person)
    keys.DATA_KEYS = [KEY_B, KEY_A]
    loaded = Person.objects.get(pk=person.pk)
    assert loaded.name.key_id == ID_A
    assert loaded.name.reveal() == "张玉梅"
    assert list(Person.objects.filter(index_lookup(Person, "phone_index", "13800138000"))) == [person]
    keys.DATA_KEYS = [KEY_B]
    with pytest.raises(UnknownKeyError):
        Person.objects.get(pk=person.pk).name.reveal()


def test_rotation_reencrypts_everything_then_the_old_key_can_go(Person, keys):
    people = _make(Person, n=5)
    Person.objects.create(name="王桂兰", phone="", id_number="", note=None)
    keys.DATA_KEYS = [KEY_B, KEY_A]
    assert key_usage(Person) == {ID_A: 21}
    batches = []
    result = rotate_model(Person, batch_size=2, progress=lambda r: batches.append(r.rows_rewritten))
    assert (result.rows_rewritten, result.values_reencrypted, result.failed_pks) == (6, 21, [])
    assert batches == [2, 4, 6]
    assert key_usage(Person) == {ID_B: 21}
    assert not any(f"v1:{ID_A}:" in str(v) for row in _raw_rows(Person) for v in row)
    keys.DATA_KEYS = [KEY_B]  # the old key is dropped
    for before in people:
        after = Person.objects.get(pk=before.pk)
        assert after.name.reveal() == "张玉梅"
        assert after.phone.reveal() == before.phone.reveal()
        assert after.phone_index != before.phone_index  # re-indexed under the new key
    assert list(Person.objects.filter(index_lookup(Person, "phone_index", "138 0013 8003"))) == [people[3]]
    assert rotate_model(Person).rows_rewritten == 0  # nothing left to do


def test_rotation_resumes_after_an_interruption(Person, keys):
    _make(Person, n=5)
    keys.DATA_KEYS = [KEY_B, KEY_A]

    def crash(result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_model(Person, batch_size=2, progress=crash)
    assert key_usage(Person) == {ID_B: 8, ID_A: 12}  # the first batch was committed
    assert rotate_model(Person, batch_size=2).rows_rewritten == 3
    assert key_usage(Person) == {ID_B: 20}


def test_rotation_skips_and_reports_an_undecryptable_row(Person, keys):
    good, bad = _make(Person, n=2)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Person._meta.db_table} SET note = name WHERE id = %s", [bad.pk])
    keys.DATA_KEYS = [KEY_B, KEY_A]
    result = rotate_model(Person)
    assert (result.rows_rewritten, result.failed_pks) == (1, [bad.pk])
    assert Person.objects.get(pk=good.pk).name.key_id == ID_B
    assert Person.objects.get(pk=bad.pk).name.key_id == ID_A


def test_rotate_command_is_audited_and_reports(Person, keys, monkeypatch):
    from fulian.accounts.management.commands import rotate_data_key

    monkeypatch.setattr(rotate_data_key, "models_to_rotate", lambda: [Person])
    _make(Person, n=3)
    keys.DATA_KEYS = [KEY_B, KEY_A]
    out = io.StringIO()
    call_command("rotate_data_key", "--check", stdout=out)
    assert f"{ID_A}:12" in out.getvalue() and "旧密钥暂不能移除" in out.getvalue()
    assert not AuditEvent.objects.filter(action__startswith="accounts.data_key").exists()
    out = io.StringIO()
    call_command("rotate_data_key", "--batch-size", "2", stdout=out)
    assert "重写 3 行,重新加密 12 个值" in out.getvalue()
    assert "可以从 FULIAN_DATA_KEYS_OLD 中移除旧密钥" in out.getvalue()
    started, done = AuditEvent.objects.filter(action__startswith="accounts.data_key").order_by("pk")
    assert started.action == "accounts.data_key.rotation_started"
    assert done.action == "accounts.data_key.rotated" and done.outcome == "success"
    assert done.detail["models"] == {Person._meta.label: [3, 12]}
    assert done.detail["old_key_ids"] == [ID_A]
    assert "张玉梅" not in json.dumps(done.detail, ensure_ascii=False)


def test_rotate_command_fails_loudly_on_undecryptable_rows(Person, keys, monkeypatch):
    from fulian.accounts.management.commands import rotate_data_key

    monkeypatch.setattr(rotate_data_key, "models_to_rotate", lambda: [Person])
    (person,) = _make(Person)
    keys.DATA_KEYS = [KEY_B]  # the old key was dropped too early
    with pytest.raises(CommandError, match=f"#{person.pk}"):
        call_command("rotate_data_key", stdout=io.StringIO())
    assert AuditEvent.objects.get(action="accounts.data_key.rotated").outcome == "failure"


def test_rotate_command_without_encrypted_models(db, keys, monkeypatch):
    from fulian.accounts.management.commands import rotate_data_key

    monkeypatch.setattr(rotate_data_key, "models_to_rotate", lambda: [])
    out = io.StringIO()
    call_command("rotate_data_key", "--check", stdout=out)
    assert "没有含加密字段的数据表" in out.getvalue()


def test_rotate_command_finds_the_real_encrypted_models(db, keys):
    out = io.StringIO()
    call_command("rotate_data_key", "--check", stdout=out)
    assert "ledger.Attendance:无数据" in out.getvalue()  # sign-in names and phones (fulian/ledger)
    out = io.StringIO()
    call_command("rotate_data_key", "--generate-key", stdout=out)
    assert len(crypto.parse_key(out.getvalue().strip())) == 32


def _settings_in_subprocess(tmp_path, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FULIAN_")}
    full_env.update(FULIAN_DATA_DIR=str(tmp_path), **env)
    code = "import json, fulian.settings as s; print(json.dumps(s.DATA_KEYS))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


def test_settings_generate_a_private_data_key_on_first_run(tmp_path):
    keys = _settings_in_subprocess(tmp_path)
    path = Path(tmp_path) / "data_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert keys == [path.read_text().strip()]
    assert len(crypto.parse_key(keys[0])) == 32
    assert _settings_in_subprocess(tmp_path) == keys  # stable across restarts


def test_settings_take_keys_from_the_environment_or_a_file(tmp_path):
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY_B + "\n")
    assert _settings_in_subprocess(tmp_path, FULIAN_DATA_KEY=KEY_A) == [KEY_A]
    assert _settings_in_subprocess(
        tmp_path, FULIAN_DATA_KEY_FILE=str(key_file), FULIAN_DATA_KEYS_OLD=f"{KEY_A}, {KEY_A}x"
    ) == [KEY_B, KEY_A, f"{KEY_A}x"]
    assert not (tmp_path / "data_key").exists()


@pytest.mark.parametrize(
    "options",
    [{}, {"db_index": False}, {"null": False}, {"db_index": False, "blank": False, "purpose": "tests.p"}],
)
def test_blind_index_field_deconstructs_to_what_it_is(options):
    """Migrations rebuild a field from ``deconstruct()``: every option must come back as it was, the field's own
    defaults left out (``db_index=False`` used to come back as ``True``, the field's default)."""
    field = BlindIndexField(source="phone", **options)
    name, path, args, kwargs = field.deconstruct()
    rebuilt = BlindIndexField(*args, **kwargs)
    for attr in ("db_index", "null", "blank", "editable", "max_length", "source", "index_purpose"):
        assert getattr(rebuilt, attr) == getattr(field, attr), attr
    assert set(kwargs) == {"source", *options}
