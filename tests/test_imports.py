"""harness.imports: one spelling rule and one set of messages for every import string."""

from __future__ import annotations

import json

import pytest

from harness.errors import UserError
from harness.imports import import_extra, import_object, split_ref


def test_an_import_string_names_its_module_and_attribute_path() -> None:
    assert split_ref("pkg.mod:Cls.attr", field="f") == ("pkg.mod", ["Cls", "attr"])
    assert import_object("json:dumps", field="f") is json.dumps


@pytest.mark.parametrize("ref", ["json", "json:", ":dumps", "json:1x", "json:a..b"])
def test_a_malformed_import_string_names_the_field(ref: str) -> None:
    with pytest.raises(UserError) as caught:
        split_ref(ref, field="binding.factory")
    assert caught.value.where == "binding.factory"
    assert f"binding.factory={ref!r}" in str(caught.value)


def test_a_missing_attribute_is_named() -> None:
    with pytest.raises(UserError, match="has no attribute 'nope'") as caught:
        import_object("json:nope", field="binding.call")
    assert caught.value.where == "binding.call"


def test_an_installed_extra_is_imported() -> None:
    assert import_extra("json", needed_by="x", extra="none", field="f") is json


def test_a_missing_extra_names_the_field_and_the_extra_that_installs_it() -> None:
    with pytest.raises(UserError) as caught:
        import_extra(
            "fixguard_no_such_module",
            needed_by="dsn='postgresql://x': PostgreSQL",
            extra="postgres",
            field="binding.dsn",
        )
    error = caught.value
    assert str(error) == "dsn='postgresql://x': PostgreSQL needs fixguard_no_such_module"
    assert error.where == "binding.dsn"
    assert error.hint == "pip install 'fixguard[postgres]'"
