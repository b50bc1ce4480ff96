"""Pages: the timeline on the customer page, logging with inline errors, the ingest page and its report."""

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from navid.accounts.roles import Role
from navid.accounts.tests.factories import BranchFactory
from navid.customers.tests.factories import CustomerFactory
from navid.interactions.models import Interaction, InteractionIngestJob
from navid.interactions.tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _login(user: Any, language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def test_customer_page_loads_the_timeline_for_those_who_read_it(make_user: Any) -> None:
    customer = CustomerFactory()
    page = _login(make_user(Role.MARKETING_DIRECTOR)).get(f"/customers/{customer.pk}/").content.decode()
    assert f'hx-get="/interactions/customers/{customer.pk}/timeline/" hx-trigger="load"' in page
    nobody = make_user(None)
    nobody.user_permissions.add(*_perms("customers.view_customer"))
    page = _login(nobody).get(f"/customers/{customer.pk}/").content.decode()
    assert "/timeline/" not in page


def _perms(*dotted: str) -> list[Any]:
    from django.contrib.auth.models import Permission

    return [
        Permission.objects.get(content_type__app_label=d.split(".")[0], codename=d.split(".")[1])
        for d in dotted
    ]


def test_timeline_fragment_newest_first_with_signals_and_escaped_notes(make_user: Any) -> None:
    customer = CustomerFactory()
    now = timezone.now()
    InteractionFactory(customer=customer, kind="sms", channel="sms", occurred_at=now - dt.timedelta(days=40))
    InteractionFactory(
        customer=customer,
        kind="complaint",
        direction="inbound",
        occurred_at=now - dt.timedelta(days=1),
        request_open=True,
        notes="<script>alert(1)</script>",
        duration_seconds=185,
        rating=2,
    )
    response = _login(make_user(Role.AGENT)).get(
        f"/interactions/customers/{customer.pk}/timeline/", headers=HTMX
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page  # a fragment for htmx
    assert page.index('data-kind="complaint"') < page.index('data-kind="sms"')
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<div class="fw-bold" id="signal-contacts-30d">1</div>' in page
    assert '<div class="fw-bold" id="signal-contacts-90d">2</div>' in page
    assert '<div class="fw-bold" id="signal-open-requests">1</div>' in page
    assert '<span class="ltr">3:05</span>' in page
    assert "rated 2 of 5" in page
    assert 'id="log-form"' in page  # agents log


def test_timeline_filter_pages_and_full_page_without_htmx(make_user: Any) -> None:
    customer = CustomerFactory()
    base = timezone.now() - dt.timedelta(days=10)
    for n in range(25):
        InteractionFactory(customer=customer, kind="call", occurred_at=base + dt.timedelta(hours=n))
    InteractionFactory(customer=customer, kind="email", channel="email", occurred_at=base)
    client = _login(make_user(Role.MARKETING_ANALYST))
    url = f"/interactions/customers/{customer.pk}/timeline/"
    first = client.get(url, headers=HTMX).content.decode()
    assert first.count('data-kind="') == 20
    assert "Page 1 of 2" in first
    second = client.get(url, {"page": 2}, headers=HTMX).content.decode()
    assert second.count('data-kind="call"') == 5 and second.count('data-kind="email"') == 1
    emails = client.get(url, {"kind": "email"}, headers=HTMX).content.decode()
    assert emails.count('data-kind="') == 1
    assert '<option value="email" selected>' in emails
    assert 'id="log-form"' not in emails  # analysts read only
    full = client.get(url).content.decode()
    assert "<html" in full and 'id="timeline"' in full


def test_timeline_in_persian_shows_jalali_dates(make_user: Any) -> None:
    customer = CustomerFactory()
    InteractionFactory(customer=customer, occurred_at=dt.datetime(2025, 2, 28, 5, 45, tzinfo=dt.UTC))
    client = _login(make_user(Role.AGENT))
    client.post("/i18n/setlang/", {"language": "fa", "next": "/"})
    page = client.get(f"/interactions/customers/{customer.pk}/timeline/", headers=HTMX).content.decode()
    assert "۱۴۰۳/۱۲/۱۰ ۰۹:۱۵" in page


def test_logging_through_htmx_shows_errors_inline_then_the_new_entry(make_user: Any) -> None:
    agent = make_user(Role.AGENT, username="agent1")
    customer = CustomerFactory()
    client = _login(agent)
    url = f"/interactions/customers/{customer.pk}/log/"
    # when the form is sent with a future time, a bad rating and no direction
    bad = client.post(
        url, {"kind": "call", "occurred_at": "2999-01-01 10:00", "rating": "9", "notes": "kept"}, headers=HTMX
    )
    page = bad.content.decode()
    # then each problem shows under its field, the input is kept, and nothing is stored
    assert bad.status_code == 200
    assert 'data-field="occurred_at">is in the future</div>' in page
    assert 'data-field="rating">must be between 1 and 5</div>' in page
    assert 'data-field="direction">is required for this kind of interaction</div>' in page
    assert "\nkept</textarea>" in page
    assert '<details class="card-body border-top" open' in page
    assert Interaction.objects.count() == 0
    # when sent again, corrected
    good = client.post(
        url,
        {"kind": "call", "direction": "inbound", "occurred_at": "2025-02-20 10:00", "employee": "agent1"},
        headers=HTMX,
    )
    page = good.content.decode()
    assert 'id="timeline-logged"' in page
    assert page.count('data-kind="call"') == 1
    stored = Interaction.objects.get()
    assert (stored.customer, stored.employee, stored.source, stored.channel) == (
        customer,
        agent,
        "ui",
        "phone",
    )


def test_logging_without_htmx_redirects_to_the_customer(make_user: Any) -> None:
    customer = CustomerFactory()
    client = _login(make_user(Role.AGENT))
    url = f"/interactions/customers/{customer.pk}/log/"
    assert 'id="log-form"' in client.get(url).content.decode()
    response = client.post(url, {"kind": "sms", "direction": "outbound", "occurred_at": "2025-02-20 10:00"})
    assert response["Location"] == f"/customers/{customer.pk}/"
    assert Interaction.objects.get().kind == "sms"
    again = client.post(url, {"kind": "sms", "occurred_at": "2025-02-20 10:00"})
    assert 'data-field="direction">is required for this kind of interaction</div>' in again.content.decode()


def test_scoping_and_permissions_of_the_pages(make_user: Any) -> None:
    mine, theirs = BranchFactory(), BranchFactory()
    officer = _login(make_user(Role.BRANCH_OFFICER, branch=mine))
    other = CustomerFactory(branch=theirs)
    body = {"kind": "sms", "direction": "outbound", "occurred_at": "2025-02-20 10:00"}
    assert officer.get(f"/interactions/customers/{other.pk}/timeline/").status_code == 404
    assert officer.post(f"/interactions/customers/{other.pk}/log/", body).status_code == 404
    analyst = _login(make_user(Role.MARKETING_ANALYST))
    assert analyst.post(f"/interactions/customers/{other.pk}/log/", body).status_code == 403
    assert officer.get("/interactions/ingest/").status_code == 403
    assert Interaction.objects.count() == 0


def test_ingest_page_runs_a_small_file_and_reports_rejected_lines_as_text(make_user: Any) -> None:
    CustomerFactory(external_id="C-1")
    client = _login(make_user(Role.MARKETING_ANALYST))
    page = client.get("/interactions/ingest/").content.decode()
    assert "Interaction feeds" in page and 'id="ingest-sample"' in page
    content = (
        b"external_id,kind,direction,occurred_at,employee\n"
        b"C-1,call,inbound,2025-02-20 10:00,\n"
        b"C-1,call,,2025-02-20 10:00,<b>x</b>\n"
    )
    response = client.post("/interactions/ingest/", {"file": SimpleUploadedFile("calls.csv", content)})
    job = InteractionIngestJob.objects.get()
    assert response["Location"] == f"/interactions/ingest/{job.pk}/"
    report = client.get(response["Location"]).content.decode()
    assert "Ingested: 1 interactions accepted, 1 lines rejected." in report
    assert "<b>x</b>" not in report
    assert "<td>no active user “&lt;b&gt;x&lt;/b&gt;”</td>" in report
    assert (
        '<td>3</td><td class="ltr">direction</td><td>is required for this kind of interaction</td>' in report
    )
    progress = client.get(response["Location"], headers=HTMX)
    assert progress["HX-Refresh"] == "true"
    again = client.post("/interactions/ingest/", {"file": SimpleUploadedFile("again.csv", content)})
    assert f"This file was already ingested (job {job.pk}); it was not read again." in again.content.decode()


def test_navigation_offers_feeds_to_those_who_ingest(make_user: Any) -> None:
    assert (
        "/interactions/ingest/"
        in _login(make_user(Role.MARKETING_ANALYST)).get("/customers/").content.decode()
    )
    assert "/interactions/ingest/" not in _login(make_user(Role.AGENT)).get("/customers/").content.decode()


def test_the_sample_on_the_ingest_page_is_accepted(make_user: Any, tmp_path: Any) -> None:
    import html
    import re

    from navid.interactions.services import interaction_ingest_job_create, interaction_ingest_job_run

    make_user(Role.AGENT, username="agent")
    for external_id, national_id in (("C-1001", None), ("C-1002", "0012345679")):
        CustomerFactory(external_id=external_id, national_id=national_id)
    page = _login(make_user(Role.MARKETING_ANALYST)).get("/interactions/ingest/").content.decode()
    sample = html.unescape(re.search(r'<pre[^>]*id="ingest-sample">(.*?)</pre>', page, re.S).group(1))
    *csv_lines, json_line = sample.splitlines()
    for name, text in (("sample.csv", "\n".join(csv_lines)), ("sample.jsonl", json_line)):
        path = tmp_path / name
        path.write_text(text + "\n", encoding="utf-8")
        with path.open("rb") as handle:
            job = interaction_ingest_job_create(actor=None, file_name=name, content=handle)
        job = interaction_ingest_job_run(job_id=job.pk)
        assert (job.state, job.rejected_count, job.errors) == ("succeeded", 0, []), name
    assert sorted(Interaction.objects.values_list("kind", "request_open")) == [
        ("call", False),
        ("complaint", True),
        ("sms", False),
    ]
