"""The `navid` command's argument errors are explained, not tracebacks."""

import pytest

from navid.cli import main


@pytest.mark.django_db
def test_import_with_bad_mapping_json_is_explained(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.csv"
    path.write_bytes(b"last_name\nKarimi\n")
    assert main(["import", "customers", str(path), "--mapping", "{bad"]) == 2
    assert capsys.readouterr().err.startswith("error: --mapping is not valid JSON")
    assert main(["import", "customers", str(path), "--mapping", "[1]"]) == 2
    assert "must be a JSON object" in capsys.readouterr().err


def test_import_of_a_missing_file_is_explained(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["import", "customers", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
