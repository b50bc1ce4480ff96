"""Segment pages: list, builder (saving good and bad trees), a segment's page, why, snapshots, overlap, uploads."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from navid.accounts.roles import Role
from navid.accounts.tests.factories import RegionFactory
from navid.core.dates import format_date
from navid.customers.models import ProductHolding, Transaction
from navid.customers.tests.factories import CustomerFactory, ProductTypeFactory
from navid.segments import services
from navid.segments.models import Segment, Snapshot

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
REGION_TEHRAN = {"type": "field", "field": "region", "operator": "in", "value": ["tehran"]}
NO_CREDIT = {"type": "product", "has": False, "credit": True}
HOSTILE = "<script>alert(1)</script>"


def _tree(*children: dict[str, Any], op: str = "and") -> dict[str, Any]:
    return {"version": 1, "root": {"type": "group", "op": op, "children": list(children)}}


def _login(user: Any, language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def _json_script(page: str, element_id: str) -> Any:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page, re.S)
    assert found is not None, element_id
    return json.loads(found.group(1))


def _hidden_definition(page: str) -> Any:
    found = re.search(r'<input type="hidden" name="definition" id="id_definition" value="([^"]*)">', page)
    assert found is not None
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    tehran = RegionFactory(code="tehran", name_en="Tehran", name_fa="تهران")
    moscow = RegionFactory(code="moscow", name_en="Moscow", name_fa="مسکو")
    loan = ProductTypeFactory(code="loan", name_en="Loan", is_credit=True)
    a = CustomerFactory(region=tehran, status="customer", national_id="0012345679", external_id="C-1")
    b = CustomerFactory(region=tehran, status="customer")
    c = CustomerFactory(region=moscow, status="prospect")
    ProductHolding.objects.create(customer=b, product_type=loan, opened_on=dt.date(2024, 1, 1), balance=5)
    Transaction.objects.create(
        customer=a,
        occurred_at=timezone.now() - dt.timedelta(days=2),
        amount=Decimal(150000),
        channel="atm",
        kind="deposit",
    )
    return {"a": a, "b": b, "c": c}


def test_list_shows_segments_counts_on_demand_and_hides_archived(
    analyst: Any, people: dict[str, Any]
) -> None:
    # given two segments, one archived
    tehran = services.segment_create(actor=analyst, name="Tehran", definition=_tree(REGION_TEHRAN))
    old = services.segment_create(actor=analyst, name="Old", definition=_tree(NO_CREDIT))
    services.segment_archive(actor=analyst, segment=old)
    client = _login(analyst)

    # when the analyst opens the list
    response = client.get("/segments/")
    page = response.content.decode()

    # then it shows the segment in use with its kind, owner and time, and the buttons to make new ones
    assert response.status_code == 200
    assert f'<a href="/segments/{tehran.pk}/">Tehran</a>' in page
    assert "Old" not in page
    assert "Dynamic (rules)" in page
    assert f"<td>{analyst.username}</td>" in page
    tehran.refresh_from_db()
    updated = format_date(timezone.localtime(tehran.updated_at), "en", with_time=True)
    assert f'<td class="text-nowrap">{updated}</td>' in page
    assert f'hx-get="/segments/{tehran.pk}/count/"' in page
    assert 'href="/segments/new/" id="new-segment"' in page
    assert 'href="/segments/new/static/" id="new-static-segment"' in page
    assert (
        '<a class="nav-link" href="/segments/">Segments</a>' in page or 'href="/segments/">Segments' in page
    )

    # and the count button answers with the number of members
    count = client.get(f"/segments/{tehran.pk}/count/", headers=HTMX).content.decode()
    assert count.strip() == f'<span class="segment-count" id="count-{tehran.pk}" role="status">2</span>'

    # and the archived tab shows the archived one only
    archived = client.get("/segments/?archived=1").content.decode()
    assert f'<a href="/segments/{old.pk}/">Old</a>' in archived
    assert "Tehran</a>" not in archived


def test_roles_without_segments_get_403_and_unknown_segments_404(
    make_user: Any, analyst: Any, people: dict[str, Any]
) -> None:
    segment = services.segment_create(actor=analyst, name="Tehran", definition=_tree(REGION_TEHRAN))
    agent = _login(make_user(Role.AGENT))
    for url in (
        "/segments/",
        "/segments/new/",
        f"/segments/{segment.pk}/",
        f"/segments/{segment.pk}/edit/",
        f"/segments/{segment.pk}/count/",
        f"/segments/{segment.pk}/why/?customer=1",
    ):
        assert agent.get(url).status_code == 403, url
    assert agent.post(f"/segments/{segment.pk}/archive/").status_code == 403
    assert "/segments/" not in agent.get("/customers/").content.decode()  # no menu entry

    # a director reads segments but makes none
    director = _login(make_user(Role.MARKETING_DIRECTOR))
    listing = director.get("/segments/").content.decode()
    assert "new-segment" not in listing
    assert director.get("/segments/new/").status_code == 403
    assert director.post(f"/segments/{segment.pk}/snapshots/").status_code == 403
    assert 'id="snapshot-button"' not in director.get(f"/segments/{segment.pk}/").content.decode()

    assert _login(analyst).get("/segments/999999/").status_code == 404


def test_builder_offers_fields_operators_and_lists_as_json(analyst: Any, people: dict[str, Any]) -> None:
    other = services.segment_create(actor=analyst, name="Other", definition=_tree(NO_CREDIT))
    page = _login(analyst).get("/segments/new/").content.decode()

    options = _json_script(page, "builder-options")
    fields = {f["name"]: f for f in options["fields"]}
    assert fields["region"]["operators"] == ["in", "not_in", "eq", "ne", "is_empty", "is_not_empty"]
    assert fields["region"]["options"] == [
        {"code": "moscow", "name": "Moscow"},
        {"code": "tehran", "name": "Tehran"},
    ]
    assert fields["status"]["options"] == [
        {"code": "prospect", "name": "Prospect"},
        {"code": "customer", "name": "Customer"},
    ]
    assert fields["do_not_contact"]["operators"] == ["eq"]
    assert fields["birth_date"]["kind"] == "date"
    assert fields["birth_date"]["operators"] == [
        "eq",
        "lt",
        "lte",
        "gt",
        "gte",
        "between",
        "is_empty",
        "is_not_empty",
    ]
    assert fields["relationship_manager"]["options"] == [
        {"code": analyst.username, "name": f"{analyst.username} ({analyst.username})"}
    ]
    assert {"code": "loan", "name": "Loan", "is_credit": True} in options["productTypes"]
    assert [k["code"] for k in options["interactionKinds"]][:3] == ["call", "sms", "email"]
    assert options["segments"] == [{"id": other.pk, "name": "Other", "kind": "dynamic"}]
    assert options["previewUrl"] == "/api/v1/segments/preview"
    assert [t["type"] for t in options["nodeTypes"]] == [
        "field",
        "product",
        "transaction",
        "interaction",
        "consent",
        "value",
        "segment",
        # registered by the loyalty app (navid.segments.extensions), edited as JSON
        "loyalty_points",
        "loyalty_tier",
        "group",
    ]
    assert options["nodeTypes"][7]["example"] == {"test": {"operator": "gte", "value": 1000}}
    # the new tree is an empty "all of" group, kept in the form's hidden input
    assert _hidden_definition(page) == {"version": 1, "root": {"type": "group", "op": "and", "children": []}}
    assert _json_script(page, "builder-server-errors") == {}

    # in Persian the lists are named in Persian
    persian = _login(analyst, "fa").get("/segments/new/").content.decode()
    regions = {f["name"]: f for f in _json_script(persian, "builder-options")["fields"]}["region"]["options"]
    assert regions == [{"code": "moscow", "name": "مسکو"}, {"code": "tehran", "name": "تهران"}]


def test_editing_shows_the_saved_rules_in_words_and_excludes_itself(
    analyst: Any, people: dict[str, Any]
) -> None:
    other = services.segment_create(actor=analyst, name="Other", definition=_tree(NO_CREDIT))
    segment = services.segment_create(
        actor=analyst,
        name="Tehran, no credit",
        definition=_tree(REGION_TEHRAN, {"type": "segment", "segment_id": other.pk}),
    )
    page = _login(analyst).get(f"/segments/{segment.pk}/edit/").content.decode()
    assert _hidden_definition(page) == segment.definition
    # without JavaScript the rules still read in words
    assert "<li>all of these hold" in page
    assert "<li>region is one of Tehran</li>" in page
    assert f'<a href="/segments/{other.pk}/">member of segment “Other”</a>' in page
    assert [s["name"] for s in _json_script(page, "builder-options")["segments"]] == ["Other"]


def test_saving_a_valid_tree_creates_the_segment(analyst: Any, people: dict[str, Any]) -> None:
    client = _login(analyst)
    definition = _tree(REGION_TEHRAN, NO_CREDIT)
    response = client.post(
        "/segments/new/",
        {
            "name": "Tehran without credit",
            "description": "for the spring campaign",
            "definition": json.dumps(definition),
        },
    )
    segment = Segment.objects.get(name="Tehran without credit")
    assert response.status_code == 302
    assert response["Location"] == f"/segments/{segment.pk}/"
    assert segment.description == "for the spring campaign"
    assert segment.owner == analyst
    assert segment.definition["root"]["children"][0] == {
        "type": "field",
        "negate": False,
        "field": "region",
        "operator": "in",
        "value": ["tehran"],
    }
    # and its page counts one member
    page = client.get(response["Location"]).content.decode()
    assert '<span class="display-6" id="segment-count">1</span>' in page
    assert "Saved." in page


def test_saving_a_bad_tree_keeps_it_and_shows_the_error_at_its_node(
    analyst: Any, people: dict[str, Any]
) -> None:
    client = _login(analyst)
    bad = _tree(REGION_TEHRAN, {"type": "field", "field": "region", "operator": "in", "value": ["atlantis"]})
    response = client.post("/segments/new/", {"name": "Atlantis", "definition": json.dumps(bad)})
    page = response.content.decode()
    assert response.status_code == 200
    assert not Segment.objects.filter(name="Atlantis").exists()
    # the user's tree comes back as it was sent, with the error under the path of the bad node
    assert _hidden_definition(page) == bad
    assert _json_script(page, "builder-server-errors") == {
        "root.children.1.value": ["unknown code in the list “region”: atlantis"]
    }
    assert (
        '<li data-path="root.children.1.value"><code class="ltr">root.children.1.value</code>: '
        "unknown code in the list “region”: atlantis</li>" in page
    )
    assert 'value="Atlantis"' in page

    # a missing name is shown at the name, and the tree is kept too
    response = client.post("/segments/new/", {"name": " ", "definition": json.dumps(_tree(REGION_TEHRAN))})
    page = response.content.decode()
    assert 'data-field="name">A segment needs a name.</div>' in page
    assert _hidden_definition(page) == _tree(REGION_TEHRAN)

    # an empty group is refused at the group
    empty = _tree({"type": "group", "op": "or", "children": []})
    page = client.post("/segments/new/", {"name": "Empty", "definition": json.dumps(empty)}).content.decode()
    assert list(_json_script(page, "builder-server-errors")) == ["root.children.0.children"]


def test_changing_the_rules_and_refusing_a_cycle(analyst: Any, people: dict[str, Any]) -> None:
    client = _login(analyst)
    first = services.segment_create(actor=analyst, name="First", definition=_tree(REGION_TEHRAN))
    second = services.segment_create(
        actor=analyst, name="Second", definition=_tree({"type": "segment", "segment_id": first.pk}, NO_CREDIT)
    )
    cycle = _tree({"type": "segment", "segment_id": second.pk})
    page = client.post(
        f"/segments/{first.pk}/edit/", {"name": "First", "definition": json.dumps(cycle)}
    ).content.decode()
    path = f"root.children.0<{second.pk}>.root.children.0.segment_id"
    assert _json_script(page, "builder-server-errors") == {
        path: ["a segment cannot include itself, directly or through others"]
    }
    first.refresh_from_db()
    assert first.definition["root"]["children"][0]["value"] == ["tehran"]

    changed = _tree({"type": "field", "field": "status", "operator": "eq", "value": "prospect"})
    response = client.post(
        f"/segments/{first.pk}/edit/",
        {"name": "Prospects", "description": "", "definition": json.dumps(changed)},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.name, first.definition["root"]["children"][0]["value"]) == ("Prospects", "prospect")


def test_detail_shows_rules_count_and_sample_with_masked_ids(
    make_user: Any, analyst: Any, people: dict[str, Any]
) -> None:
    segment = services.segment_create(
        actor=analyst, name="Tehran", definition=_tree(REGION_TEHRAN, NO_CREDIT)
    )
    page = _login(make_user(Role.CAMPAIGN_MANAGER)).get(f"/segments/{segment.pk}/").content.decode()
    assert '<h1 class="h3 mb-1" id="segment-name">Tehran</h1>' in page
    assert "<li>region is one of Tehran</li>" in page
    assert "<li>holds no credit product</li>" in page
    assert '<span class="display-6" id="segment-count">1</span>' in page
    a = people["a"]
    assert f'<a href="/customers/{a.pk}/">{a.display_name}</a>' in page
    assert '<td class="ltr">•••••••679</td>' in page
    assert f'<option value="{segment.pk}"' not in page  # not compared with itself
    assert 'id="snapshot-button"' in page  # campaign managers freeze segments
    assert 'id="archive-segment"' not in page


def test_why_fragment_marks_each_condition(analyst: Any, people: dict[str, Any]) -> None:
    segment = services.segment_create(actor=analyst, name="T", definition=_tree(REGION_TEHRAN, NO_CREDIT))
    client = _login(analyst)
    b = people["b"]
    response = client.get(f"/segments/{segment.pk}/why/", {"customer": b.national_id}, headers=HTMX)
    page = response.content.decode()
    assert "<html" not in page
    assert "is not in this segment" in page
    nodes = re.findall(r'data-path="([^"]+)" data-holds="(true|false)"', page)
    assert nodes == [("root", "false"), ("root.children.0", "true"), ("root.children.1", "false")]
    assert page.count("✓") == 1 and page.count("✗") == 2

    # by external ID and by Navid id
    by_external = client.get(
        f"/segments/{segment.pk}/why/", {"customer": "C-1"}, headers=HTMX
    ).content.decode()
    assert 'data-in="true">is in this segment' in by_external
    by_id = client.get(f"/segments/{segment.pk}/why/", {"customer": str(b.pk)}, headers=HTMX).content.decode()
    assert 'data-in="false"' in by_id
    unknown = client.get(
        f"/segments/{segment.pk}/why/", {"customer": "nobody"}, headers=HTMX
    ).content.decode()
    assert "No customer that you can see is “nobody”." in unknown

    # without htmx the segment's page shows the same answer
    response = client.get(f"/segments/{segment.pk}/why/", {"customer": "C-1"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'data-in="true">is in this segment' in page


def test_snapshot_button_freezes_and_polls_until_done(
    analyst: Any, people: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    segment = services.segment_create(actor=analyst, name="T", definition=_tree(REGION_TEHRAN))
    client = _login(analyst)
    # while the worker has not taken it yet, the list polls
    with django_capture_on_commit_callbacks(execute=False):
        waiting = client.post(f"/segments/{segment.pk}/snapshots/", headers=HTMX).content.decode()
    assert f'hx-get="/segments/{segment.pk}/snapshots/" hx-trigger="every 1s"' in waiting
    assert '<tr data-state="pending">' in waiting
    assert "disabled" in waiting

    # once taken, the fragment shows its members and stops polling
    services.snapshot_take(snapshot_id=Snapshot.objects.get(segment=segment).pk)
    done = client.get(f"/segments/{segment.pk}/snapshots/", headers=HTMX).content.decode()
    assert "every 1s" not in done
    assert '<td class="snapshot-members">2</td>' in done

    # a second one: the answer polls, and the worker (eager here) takes it after the request's commit
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/segments/{segment.pk}/snapshots/", headers=HTMX)
    assert '<tr data-state="pending">' in response.content.decode()
    polled = client.get(f"/segments/{segment.pk}/snapshots/", headers=HTMX).content.decode()
    assert polled.count('<td class="snapshot-members">2</td>') == 2
    assert "every 1s" not in polled
    assert Snapshot.objects.filter(segment=segment, state="done").count() == 2

    # without htmx the button leads back to the page
    response = client.post(f"/segments/{segment.pk}/snapshots/")
    assert response["Location"] == f"/segments/{segment.pk}/#snapshots"


def test_static_upload_reports_bad_lines_and_changes_nothing(analyst: Any, people: dict[str, Any]) -> None:
    client = _login(analyst)
    response = client.post("/segments/new/static/", {"name": "Invited"})
    segment = Segment.objects.get(name="Invited")
    assert (segment.kind, response["Location"]) == ("static", f"/segments/{segment.pk}/")

    page = client.post(
        f"/segments/{segment.pk}/members/", {"identifiers": "0012345679\nnobody\n"}
    ).content.decode()
    assert "<li>line 2: no customer “nobody”</li>" in page
    assert "0012345679\nnobody" in page  # the list typed is kept
    assert segment.static_members.count() == 0

    upload = SimpleUploadedFile("list.csv", f"C-1,first\n{people['c'].pk};second\n".encode())
    response = client.post(f"/segments/{segment.pk}/members/", {"file": upload})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "The segment now has 2 members." in page
    assert '<span class="display-6" id="segment-count">2</span>' in page
    # why, for a static segment: is the customer on the list
    why = client.get(f"/segments/{segment.pk}/why/", {"customer": "C-1"}, headers=HTMX).content.decode()
    assert re.findall(r'data-path="([^"]+)" data-holds="(true|false)"', why) == [("root", "true")]

    # and a static segment is edited without the rule builder
    edit = client.get(f"/segments/{segment.pk}/edit/").content.decode()
    assert "builder.js" not in edit and 'value="Invited"' in edit


def test_overlap_gives_three_numbers(analyst: Any, people: dict[str, Any]) -> None:
    tehran = services.segment_create(actor=analyst, name="Tehran", definition=_tree(REGION_TEHRAN))
    customers = services.segment_create(
        actor=analyst,
        name="Customers",
        definition=_tree({"type": "field", "field": "status", "operator": "eq", "value": "prospect"}),
    )
    page = (
        _login(analyst)
        .get(f"/segments/{tehran.pk}/overlap/", {"other": customers.pk}, headers=HTMX)
        .content.decode()
    )
    assert '<dd class="col-4" id="overlap-only-first">2</dd>' in page
    assert '<dd class="col-4" id="overlap-both">0</dd>' in page
    assert '<dd class="col-4" id="overlap-only-second">1</dd>' in page


def test_archive_refused_while_used_and_done_otherwise(analyst: Any, people: dict[str, Any]) -> None:
    client = _login(analyst)
    first = services.segment_create(actor=analyst, name="First", definition=_tree(REGION_TEHRAN))
    second = services.segment_create(
        actor=analyst, name="Second", definition=_tree({"type": "segment", "segment_id": first.pk})
    )
    response = client.post(f"/segments/{first.pk}/archive/", follow=True)
    assert "Other segments use this one: Second" in response.content.decode()
    assert not Segment.objects.get(pk=first.pk).is_archived

    response = client.post(f"/segments/{second.pk}/archive/", follow=True)
    assert response.redirect_chain == [("/segments/", 302)]
    assert "Archived: Second" in response.content.decode()
    assert Segment.objects.get(pk=second.pk).is_archived


def test_a_hostile_name_is_escaped_everywhere(analyst: Any, people: dict[str, Any]) -> None:
    client = _login(analyst)
    hostile = services.segment_create(actor=analyst, name=HOSTILE, kind="static", description=HOSTILE)
    other = services.segment_create(actor=analyst, name="Tehran", definition=_tree(REGION_TEHRAN))
    services.static_members_set(actor=analyst, segment=hostile, identifiers=["C-1"])
    pages = [
        client.get("/segments/").content.decode(),
        client.get(f"/segments/{hostile.pk}/").content.decode(),
        client.get(f"/segments/{other.pk}/").content.decode(),
        client.get(f"/segments/{other.pk}/edit/").content.decode(),
        client.get(f"/segments/{hostile.pk}/why/", {"customer": "C-1"}, headers=HTMX).content.decode(),
        client.get(f"/segments/{other.pk}/overlap/", {"other": hostile.pk}, headers=HTMX).content.decode(),
        client.get(f"/segments/{hostile.pk}/why/", {"customer": HOSTILE}, headers=HTMX).content.decode(),
    ]
    for page in pages:
        assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]
    assert "\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E" in pages[3]  # in the builder's JSON
    assert _json_script(pages[3], "builder-options")["segments"][0]["name"] == HOSTILE
