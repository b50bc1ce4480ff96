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


@pytest.mark.django_db
def test_ingest_of_interactions_prints_rejected_lines(tmp_path, capsys, settings) -> None:  # type: ignore[no-untyped-def]
    from navid.customers.tests.factories import CustomerFactory

    settings.MEDIA_ROOT = tmp_path / "media"
    CustomerFactory(external_id="C-1")
    path = tmp_path / "feed.csv"
    path.write_bytes(
        b"external_id,kind,direction,occurred_at\nC-1,sms,outbound,2025-02-20 10:00\nC-2,sms,outbound,2025-02-20\n"
    )
    assert main(["import", "interactions", str(path)]) == 0
    out = capsys.readouterr().out
    assert "line 3, field external_id: no such customer among those you may see" in out
    assert "Ingested: 1 interactions accepted, 1 lines rejected." in out
    assert main(["import", "interactions", str(path)]) == 2
    assert "was already ingested" in capsys.readouterr().err


def test_starting_django_imports_neither_scikit_learn_nor_scipy() -> None:
    # Every process (web, worker, the import's writer, each command) pays for what the apps import at start-up;
    # scikit-learn and SciPy took most of four seconds, so only the functions that train or fit import them.
    import subprocess
    import sys

    from django.conf import settings

    code = (
        "import sys, django; django.setup(); import navid.customers.import_writer, navid.urls; "
        "print(sorted({name.split('.')[0] for name in sys.modules} & {'sklearn', 'scipy'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
