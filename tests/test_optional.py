"""Optional dependencies: a missing one names the extra, a broken one keeps its own words."""

from __future__ import annotations

import sys

import pytest

from relcore._optional import require


def test_a_missing_module_names_the_extra_to_install():
    with pytest.raises(ImportError, match=r"pip install 'relcore\[arrow\]'"):
        require("relcore_test_no_such_module", "arrow")


def test_an_installed_module_that_fails_to_import_keeps_its_own_error(tmp_path, monkeypatch):
    (tmp_path / "relcore_test_broken.py").write_text(
        "raise ImportError('this build requires NumPy 2.0')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "relcore_test_broken", raising=False)
    with pytest.raises(ImportError, match="installed but failed to import") as info:
        require("relcore_test_broken", "arrow")
    assert "requires NumPy 2.0" in str(info.value)


def test_a_missing_dependency_of_an_installed_module_is_not_blamed_on_the_module(
    tmp_path, monkeypatch
):
    (tmp_path / "relcore_test_needs_other.py").write_text("import relcore_test_absent_dep\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match="relcore_test_absent_dep"):
        require("relcore_test_needs_other", "plot")
