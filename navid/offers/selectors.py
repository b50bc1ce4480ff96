"""Reads of offers: the catalogue, the two matrices as grids, the models' quality."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from navid.customers.models import ProductType
from navid.offers.eligibility import EligibilityRules, rules_describe
from navid.offers.models import CrossProductStat, Offer, ProductRule, ProductSegmentTarget, PropensityModel
from navid.segments.models import Segment


@dataclass
class CatalogueRow:
    product: ProductType
    rules: list[str]
    offers: list[Offer]
    model: PropensityModel | None


def catalogue(*, include_inactive: bool = False) -> list[CatalogueRow]:
    """Every product with its rules in words, its offers and its current model."""
    products = ProductType.objects.order_by("sort_order", "code")
    if not include_inactive:
        products = products.filter(is_active=True)
    rules = {r.product_type_id: r.rules for r in ProductRule.objects.all()}
    offers: dict[int, list[Offer]] = {}
    for offer in Offer.objects.order_by("-is_active", "name"):
        offers.setdefault(offer.product_type_id, []).append(offer)
    models = {m.product_type_id: m for m in PropensityModel.objects.filter(is_current=True)}
    return [
        CatalogueRow(
            product=p,
            rules=rules_describe(EligibilityRules.model_validate(rules.get(p.pk, {}))),
            offers=offers.get(p.pk, []),
            model=models.get(p.pk),
        )
        for p in products
    ]


def offers_list() -> QuerySet[Offer]:
    """All offers, active first."""
    return Offer.objects.select_related("product_type").order_by("-is_active", "product_type__code", "name")


@dataclass
class MatrixRow:
    segment: Segment
    cells: list[tuple[ProductType, int | None]] = field(default_factory=list)


def product_segment_matrix() -> tuple[list[ProductType], list[MatrixRow]]:
    """Products (columns) and, per segment in use, the priority of each product (None = not targeted)."""
    products = list(ProductType.objects.filter(is_active=True).order_by("sort_order", "code"))
    priorities = {
        (t.segment_id, t.product_type_id): t.priority
        for t in ProductSegmentTarget.objects.filter(segment__is_archived=False)
    }
    rows = [
        MatrixRow(segment=s, cells=[(p, priorities.get((s.pk, p.pk))) for p in products])
        for s in Segment.objects.filter(is_archived=False).order_by("name")
    ]
    return products, rows


@dataclass
class HeatCell:
    stat: CrossProductStat | None
    colour: str


@dataclass
class HeatMap:
    products: list[ProductType]
    rows: list[tuple[ProductType, list[HeatCell]]]
    computed_at: object | None
    customers: int


def heat_colour(lift: float | None) -> str:
    """A background for a lift: white at 1, blue below (down to 0), red above (full at 3 and more)."""
    if lift is None:
        return "#ffffff"
    if lift >= 1:
        strength = min((lift - 1) / 2, 1.0)
        return f"hsl(0, 75%, {100 - 45 * strength:.0f}%)"
    return f"hsl(215, 75%, {100 - 45 * (1 - lift):.0f}%)"


def cross_product_heat_map() -> HeatMap:
    """The stored cross-product matrix as a grid: rows 'holds A', columns 'also holds B', coloured by lift."""
    stats = {(s.antecedent_id, s.consequent_id): s for s in CrossProductStat.objects.all()}
    ids = {a for a, _b in stats} | {b for _a, b in stats}
    products = list(ProductType.objects.filter(pk__in=ids).order_by("sort_order", "code"))
    rows = []
    for a in products:
        cells = []
        for b in products:
            stat = stats.get((a.pk, b.pk))
            cells.append(
                HeatCell(stat=stat, colour="" if a.pk == b.pk else heat_colour(stat.lift if stat else 0.0))
            )
        rows.append((a, cells))
    first = next(iter(stats.values()), None)
    return HeatMap(
        products=products,
        rows=rows,
        computed_at=first.computed_at if first else None,
        customers=first.customers if first else 0,
    )


def model_quality() -> list[PropensityModel]:
    """The current model of each product, best AUC first."""
    return list(
        PropensityModel.objects.filter(is_current=True)
        .select_related("product_type")
        .order_by("product_type__code")
    )
