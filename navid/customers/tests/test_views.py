"""Pages: list, profile, forms with inline errors, trash, import wizard, duplicates, export, Persian layout."""

from typing import Any

import pytest
from django.test import Client

from navid.accounts.roles import Role
from navid.customers.models import Customer, ImportJob
from navid.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _login(user: Any, language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def test_list_escapes_hostile_names(admin_user: Any) -> None:
    CustomerFactory(first_name="<script>alert(1)</script>", last_name="<b>x</b>")
    page = _login(admin_user).get("/customers/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_persian_pages_are_rtl_with_jalali_dates_and_persian_digits(admin_user: Any) -> None:
    customer = CustomerFactory(birth_date="2024-03-20")
    client = _login(admin_user)
    client.post("/i18n/setlang/", {"language": "fa", "next": "/"})
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert '<html lang="fa" dir="rtl">' in page
    assert "bootstrap.rtl.min.css" in page
    assert '<dd class="col-sm-8" id="birth-date">۱۴۰۳/۰۱/۰۱</dd>' in page


def test_russian_interface(admin_user: Any) -> None:
    client = _login(admin_user)
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    page = client.get("/customers/").content.decode()
    assert '<html lang="ru" dir="ltr">' in page
    assert "Клиенты" in page


def test_form_shows_errors_inline_and_keeps_input(admin_user: Any) -> None:
    response = _login(admin_user).post(
        "/customers/new/",
        {
            "kind": "person",
            "status": "prospect",
            "last_name": "Karimi",
            "national_id": "123",
            "language": "fa",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="national_id">is not a valid national ID' in page
    assert 'value="Karimi"' in page
    assert Customer.objects.count() == 0


def test_create_edit_delete_restore_through_pages(admin_user: Any) -> None:
    client = _login(admin_user)
    response = client.post(
        "/customers/new/",
        {
            "kind": "person",
            "status": "prospect",
            "first_name": "Ali",
            "last_name": "Karimi",
            "language": "fa",
        },
    )
    customer = Customer.objects.get()
    assert response["Location"] == f"/customers/{customer.pk}/"
    client.post(
        f"/customers/{customer.pk}/edit/",
        {
            "kind": "person",
            "status": "customer",
            "first_name": "Ali",
            "last_name": "Karimi",
            "language": "ru",
        },
    )
    customer.refresh_from_db()
    assert (customer.status, customer.language) == ("customer", "ru")
    client.post(f"/customers/{customer.pk}/delete/")
    assert client.get(f"/customers/{customer.pk}/").status_code == 404
    assert "Karimi" in client.get("/customers/trash/").content.decode()
    client.post(f"/customers/{customer.pk}/restore/")
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert page.count("<td>Restored</td>") == 1


def test_agent_cannot_open_forms_and_sees_masked_ids(make_user: Any) -> None:
    agent = make_user(Role.AGENT)
    customer = CustomerFactory(national_id="0012345679")
    client = _login(agent)
    assert client.get("/customers/new/").status_code == 403
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "0012345679" not in page and "•••••••679" in page


def test_import_wizard_maps_columns_and_reports(admin_user: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = _login(admin_user)
    upload = SimpleUploadedFile("c.csv", "نام خانوادگی,کد ملی\nکریمی,0012345679\nبد,123\n".encode())
    response = client.post("/customers/import/", {"file": upload, "dry_run": ""})
    job = ImportJob.objects.get()
    assert response["Location"] == f"/customers/import/{job.pk}/mapping/"
    mapping_page = client.get(response["Location"]).content.decode()
    assert '<option value="last_name" selected>' in mapping_page
    client.post(response["Location"], {"map-0": "last_name", "map-1": "national_id"})
    report = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert "nothing was imported" in report
    assert "<td>3</td><td>کد ملی</td>" in report
    assert Customer.objects.count() == 0


def test_export_neutralises_formulas(admin_user: Any) -> None:
    CustomerFactory(first_name='=HYPERLINK("http://evil")', last_name="-2+3")
    response = _login(admin_user).get("/customers/export.csv")
    body = response.getvalue().decode()
    assert "'=HYPERLINK" in body
    assert "'-2+3" in body


def test_duplicates_page_merges(admin_user: Any) -> None:
    a = CustomerFactory(phone="+989121111111")
    b = CustomerFactory(phone="+989121111111")
    client = _login(admin_user)
    assert "+989121111111" in client.get("/customers/duplicates/").content.decode()
    client.post("/customers/duplicates/", {"survivor": a.pk, "duplicate": b.pk})
    b.refresh_from_db()
    assert b.merged_into_id == a.pk


def test_audit_log_is_for_administrators(admin_user: Any, make_user: Any) -> None:
    CustomerFactory()
    assert _login(admin_user).get("/accounts/audit/").status_code == 200
    assert _login(make_user(Role.AGENT)).get("/accounts/audit/").status_code == 403


def test_a_customer_created_by_an_import_links_to_it(admin_user: Any, tmp_path: Any) -> None:
    from navid.customers.services import import_job_create, import_job_run

    path = tmp_path / "c.csv"
    path.write_bytes(b"last_name\nKarimi\n")
    with path.open("rb") as handle:
        job = import_job_create(actor=admin_user, file_name="branch-list.csv", content=handle)
    import_job_run(job_id=job.pk)
    customer = Customer.objects.get()
    page = _login(admin_user).get(f"/customers/{customer.pk}/").content.decode()
    assert "by the import of branch-list.csv" in page
    assert f'href="/customers/import/{job.pk}/"' in page
