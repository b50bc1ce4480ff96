"""Demo data of sales: application requirements, distribution rules, a kiosk, leads through the pipeline,
applications (some approved, converting prospects), and the leads of campaign responses."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from navid.accounts.roles import Role
from navid.core.errors import NavidError
from navid.customers.models import Customer, ProductType
from navid.sales import services
from navid.sales.models import Application, DistributionRule, KioskDevice, Lead, ProductRequirement
from navid.sales.requirements import IncomingDocument

# A one-page PDF the demo attaches where a product asks for a document.
DEMO_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

DEMO_REQUIREMENTS: dict[str, tuple[list[dict[str, object]], list[dict[str, object]]]] = {
    "loan": (
        [
            {"name": "amount", "label": "Amount wanted", "type": "number", "required": True},
            {"name": "monthly_income", "label": "Monthly income", "type": "number", "required": True},
            {"name": "employer", "label": "Employer", "type": "text", "required": False},
        ],
        [
            {"kind": "id_card", "label": "National ID card", "required": True},
            {"kind": "payslip", "label": "Latest payslip", "required": True},
        ],
    ),
    "credit-card": (
        [{"name": "monthly_income", "label": "Monthly income", "type": "number", "required": True}],
        [{"kind": "id_card", "label": "National ID card", "required": True}],
    ),
    "savings-deposit": (
        [{"name": "first_deposit", "label": "First deposit", "type": "number", "required": False}],
        [],
    ),
}


@dataclass(frozen=True)
class SalesDemo:
    leads: int
    applications: int
    rules: int
    kiosk_key: str  # empty when the demo kiosk existed already (its key is shown only when created)


def sales_demo_seed(*, leads: int = 40, applications: int = 12, seed: int = 7) -> SalesDemo:
    """Create the demo's sales data once (a second call adds nothing but campaign-response leads)."""
    rng = random.Random(seed)
    with transaction.atomic():
        products = {p.code: p for p in ProductType.objects.filter(code__in=DEMO_REQUIREMENTS)}
        for code, (fields, documents) in DEMO_REQUIREMENTS.items():
            if (
                code in products
                and not ProductRequirement.objects.filter(product_type=products[code]).exists()
            ):
                services.product_requirements_set(
                    actor=None, product=products[code], fields=fields, documents=documents
                )
        managers = list(
            get_user_model()
            .objects.filter(is_active=True, groups__name=Role.RELATIONSHIP_MANAGER.value)
            .order_by("pk")
        )
        if managers and not DistributionRule.objects.exists():
            if "loan" in products:
                services.distribution_rule_save(
                    actor=None,
                    rule=DistributionRule(
                        name="Loans: least loaded",
                        position=10,
                        product_type=products["loan"],
                        strategy="least_loaded",
                    ),
                    managers=managers,
                )
            services.distribution_rule_save(
                actor=None,
                rule=DistributionRule(name="Everyone else: round robin", position=20, strategy="round_robin"),
                managers=managers,
            )
        kiosk_key = ""
        if not KioskDevice.objects.exists():
            _device, kiosk_key = services.kiosk_device_create(actor=None, name="Demo lobby tablet")
    created_leads = created_applications = 0
    if not Lead.objects.exclude(source="campaign_response").exists():
        created_leads = _leads(rng, leads, list(products.values()))
    if not Application.objects.exists():
        created_applications = _applications(rng, applications, products)
    created_leads += services.campaign_responses_to_leads()
    return SalesDemo(created_leads, created_applications, DistributionRule.objects.count(), kiosk_key)


def _leads(rng: random.Random, count: int, products: list[ProductType]) -> int:
    customers = list(Customer.objects.filter(deleted_at__isnull=True).order_by("pk")[: count * 3])
    made = 0
    for n, customer in enumerate(rng.sample(customers, min(count, len(customers)))):
        lead = services.lead_create(
            actor=None,
            customer=customer,
            product=rng.choice(products) if products else None,
            source=rng.choice(["manual", "call_interested"]),
            source_ref=f"demo:{n}",
        )
        made += 1
        path = rng.choice(
            [
                [],
                ["contacted"],
                ["contacted", "meeting"],
                ["contacted", "meeting", "proposal"],
                ["contacted", "meeting", "proposal", "won"],
                ["contacted", "lost"],
                ["lost"],
            ]
        )
        for stage in path:
            lead = services.lead_move(
                actor=None,
                lead=lead,
                stage=stage,
                lost_reason="Chose another bank" if stage == "lost" else "",
            )
    return made


def _applications(rng: random.Random, count: int, products: dict[str, ProductType]) -> int:
    if not products:
        return 0
    customers = list(
        Customer.objects.filter(deleted_at__isnull=True, status="prospect").order_by("pk")[: count * 4]
    )
    officer = get_user_model().objects.filter(groups__name=Role.ADMINISTRATOR.value).first()
    made = 0
    for customer in rng.sample(customers, min(len(customers), count * 2)):
        if made >= count:
            break
        code = rng.choice(sorted(products))
        fields, documents = DEMO_REQUIREMENTS[code]
        values = {str(f["name"]): str(rng.randrange(20, 90) * 1_000_000) for f in fields}
        files = [
            IncomingDocument(kind=str(d["kind"]), name=f"{d['kind']}.pdf", content=DEMO_PDF)
            for d in documents
        ]
        try:
            application, created = services.application_submit(
                actor=None,
                customer=customer,
                product=products[code],
                channel=rng.choice(["branch", "contact_centre", "field_agent", "kiosk", "api"]),
                values=values,
                documents=files,
            )
        except NavidError:
            continue  # not eligible: the demo customer is too young or holds too much credit
        made += created
        if officer is not None and rng.random() < 0.6:
            services.application_act(actor=officer, application=application, action="review")
            if rng.random() < 0.7:
                services.application_act(actor=officer, application=application, action="approve")
    return made
