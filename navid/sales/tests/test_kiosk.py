"""The kiosk: locked without a device key, identification by national ID and phone, a new prospect, CSRF."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from navid.customers.models import Customer
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory, ir_national_code
from navid.sales import services
from navid.sales.models import Application, KioskDevice
from navid.sales.tests.factories import PDF, RequirementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kiosk(db: None) -> tuple[Client, Any]:
    device, key = services.kiosk_device_create(actor=None, name="Lobby tablet")
    client = Client(headers={"Accept-Language": "fa"})
    response = client.post("/sales/kiosk/setup/", {"key": key})
    assert response.status_code == 302
    return client, device


def test_without_a_device_key_the_kiosk_is_locked(db: None) -> None:
    client = Client()
    assert client.get("/sales/kiosk/").status_code == 403
    assert client.get("/sales/kiosk/apply/").status_code == 403
    assert client.post("/sales/kiosk/setup/", {"key": "kiosk_ab_cd"}).status_code == 422


def test_a_deactivated_device_is_locked_at_once(kiosk: tuple[Client, Any]) -> None:
    client, device = kiosk
    assert client.get("/sales/kiosk/").status_code == 200
    device.is_active = False
    device.save()
    assert client.get("/sales/kiosk/").status_code == 403


def test_the_kiosk_speaks_persian_right_to_left(kiosk: tuple[Client, Any]) -> None:
    client, _device = kiosk
    page = client.get("/sales/kiosk/").content.decode()
    assert 'dir="rtl"' in page and "bootstrap.rtl.min.css" in page


def test_a_customer_identifies_and_applies(kiosk: tuple[Client, Any]) -> None:
    client, device = kiosk
    card = ProductTypeFactory(code="card", name_en="Card")
    RequirementFactory(product_type=card)
    customer = CustomerFactory(phone="+989121234567")
    wrong = client.post(
        "/sales/kiosk/", {"mode": "existing", "national_id": customer.national_id, "phone": "09120000000"}
    )
    assert wrong.status_code == 422
    persian_digits = customer.national_id.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    right = client.post(
        "/sales/kiosk/", {"mode": "existing", "national_id": persian_digits, "phone": "09121234567"}
    )
    assert right["Location"] == "/sales/kiosk/apply/"
    missing = client.post("/sales/kiosk/apply/", {"product": card.pk, "idempotency_key": "k1"})
    assert missing.status_code == 422
    upload = SimpleUploadedFile("id.pdf", PDF)
    done = client.post(
        "/sales/kiosk/apply/",
        {"product": card.pk, "idempotency_key": "k1", "v_monthly_income": "۱۲۰۰۰", "d_id_card": upload},
    )
    assert done["Location"] == "/sales/kiosk/done/"
    application = Application.objects.get()
    assert (
        application.customer,
        application.channel,
        application.kiosk,
        application.values["monthly_income"],
    ) == (
        customer,
        "kiosk",
        device,
        "12000",
    )
    assert str(application.pk) in client.get("/sales/kiosk/done/").content.decode().translate(
        str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
    )
    # The session is over: the next person starts again.
    assert client.get("/sales/kiosk/apply/")["Location"] == "/sales/kiosk/"


def test_a_new_prospect_applies_and_a_known_national_id_must_identify(kiosk: tuple[Client, Any]) -> None:
    client, _device = kiosk
    new_id = ir_national_code(7_654_321)
    data = {
        "mode": "new",
        "first_name": "Sara",
        "last_name": "Ahmadi",
        "national_id": new_id,
        "phone": "09125550000",
    }
    assert client.post("/sales/kiosk/", data)["Location"] == "/sales/kiosk/apply/"
    prospect = Customer.objects.get(national_id=new_id)
    assert (prospect.status, prospect.first_name, prospect.phone) == ("prospect", "Sara", "+989125550000")
    again = Client(headers={"Accept-Language": "en"})
    again.cookies = client.cookies
    page = again.post("/sales/kiosk/", data)
    assert page.status_code == 422
    assert "identify with your phone instead" in page.content.decode()


def test_kiosk_forms_need_the_csrf_token(kiosk: tuple[Client, Any]) -> None:
    client, _device = kiosk
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert (
        strict.post("/sales/kiosk/", {"mode": "existing", "national_id": "1", "phone": "2"}).status_code
        == 403
    )


def test_an_administrator_registers_a_kiosk_and_sees_its_key_once(make_user: Any) -> None:
    from navid.accounts.roles import Role
    from navid.sales.models import KioskDevice

    admin = Client(headers={"Accept-Language": "en"})
    admin.force_login(make_user(Role.ADMINISTRATOR, is_staff=True))
    response = admin.post("/admin/sales/kioskdevice/add/", {"name": "Hall", "branch": ""}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 2 and shown[0].startswith("The key of this kiosk, shown only now: kiosk_")
    key = shown[0].split(": ")[1].split(" ")[0]
    device = KioskDevice.objects.get()
    assert device.digest != key and key not in device.digest
    assert services.kiosk_device_authenticate(key=key) == device
    assert services.kiosk_device_authenticate(key=key + "x") is None


def test_five_failed_identifications_lock_the_kiosk_for_ten_minutes(kiosk: tuple[Client, Any]) -> None:
    client, device = kiosk
    customer = CustomerFactory(phone="+989121234567")
    wrong = {"mode": "existing", "national_id": customer.national_id, "phone": "09120000000"}
    assert [client.post("/sales/kiosk/", wrong).status_code for _ in range(5)] == [422] * 5
    right = wrong | {"phone": "09121234567"}
    assert client.post("/sales/kiosk/", right).status_code == 429  # even the right pair, while locked
    device.refresh_from_db()
    assert device.locked_until is not None
    KioskDevice.objects.filter(pk=device.pk).update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    assert client.post("/sales/kiosk/", right)["Location"] == "/sales/kiosk/apply/"
