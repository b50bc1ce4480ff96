"""The roles of REQUIREMENTS R9 and the permissions each one holds."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    MARKETING_DIRECTOR = "marketing_director"
    MARKETING_ANALYST = "marketing_analyst"
    CAMPAIGN_MANAGER = "campaign_manager"
    SEGMENT_MANAGER = "segment_manager"
    CHANNEL_MANAGER = "channel_manager"
    AGENT = "contact_centre_agent"
    BRANCH_OFFICER = "branch_officer"
    RELATIONSHIP_MANAGER = "relationship_manager"
    ADMINISTRATOR = "administrator"


class Scope(StrEnum):
    """Which customers a role sees."""

    ALL = "all"
    BRANCH = "branch"
    PORTFOLIO = "portfolio"


@dataclass(frozen=True)
class RoleSpec:
    label: Promise
    scope: Scope
    permissions: tuple[str, ...]
    masks_national_id: bool = False


_VIEW = ("customers.view_customer",)
_EDIT = (
    "customers.add_customer",
    "customers.change_customer",
    "customers.delete_customer",
    "customers.restore_customer",
    "customers.manage_consent",
)
_SEGMENTS_VIEW = ("segments.view_segment",)
_SEGMENTS_EDIT = (
    "segments.view_segment",
    "segments.add_segment",
    "segments.change_segment",
    "segments.delete_segment",
    "segments.snapshot_segment",
)
# Ranking and value: the points models and the settings of value, lifecycle and loyalty (Django admin).
_VALUE_SETTINGS = (
    "segments.view_scoringmodel",
    "segments.add_scoringmodel",
    "segments.change_scoringmodel",
    "segments.delete_scoringmodel",
    "segments.view_valuesettings",
    "segments.change_valuesettings",
    "segments.view_lifecyclerule",
    "segments.change_lifecyclerule",
    "segments.view_loyaltysettings",
    "segments.change_loyaltysettings",
    "segments.view_valuerun",
    "segments.view_customervalue",
)
_LISTS = tuple(
    f"{app}.{verb}_{model}"
    for app, model in (
        ("accounts", "region"),
        ("accounts", "branch"),
        ("customers", "prospecttype"),
        ("customers", "prospectrank"),
        ("customers", "prospectstatus"),
        ("customers", "industry"),
        ("customers", "producttype"),
        ("interactions", "complaintcategory"),
    )
    for verb in ("view", "add", "change", "delete")
)
# Interactions (R2): everyone who sees customers reads their timeline; those who talk to customers log them,
# for the customers they see. Feeds of files are for the roles that see every customer.
_READ_INTERACTIONS = ("interactions.view_interaction",)
_LOG_INTERACTIONS = ("interactions.view_interaction", "interactions.add_interaction")
_INGEST_INTERACTIONS = "interactions.ingest_interactions"
# Offers (R7.1): analysts and administrators keep the catalogue, rules and matrices and retrain the models;
# those who sell read the offers and each customer's next best offers.
_OFFERS_READ = ("offers.view_offer", "offers.view_next_best_offers")
_OFFERS_EDIT = (
    *_OFFERS_READ,
    *(f"offers.{verb}_offer" for verb in ("add", "change", "delete")),
    "offers.view_productrule",
    "offers.change_productrule",
    "offers.view_productsegmenttarget",
    "offers.edit_product_segment_matrix",
    "offers.view_crossproductstat",
    "offers.view_propensitymodel",
    "offers.train_propensity_models",
)
# Campaigns (R4, R9): managers plan, submit and run them; the director (and an administrator) approves, and is never
# the same person as the maker; everyone who works with customers may read them and their results.
_CAMPAIGNS_VIEW = ("campaigns.view_campaign", "campaigns.view_brand", "offers.view_offer")
_CAMPAIGNS_PLAN = (
    *_CAMPAIGNS_VIEW,
    "campaigns.add_campaign",
    "campaigns.change_campaign",
    "campaigns.run_campaign",
    "campaigns.add_brand",
    "campaigns.change_brand",
    "offers.add_offer",
    "offers.change_offer",
)
_CAMPAIGNS_APPROVE = (*_CAMPAIGNS_VIEW, "campaigns.approve_campaign", "campaigns.run_campaign")
# Events (R4.1): campaign managers set them up; branch staff check guests in at the door.
_EVENTS_VIEW = ("campaigns.view_event",)
_EVENTS_RUN = (*_EVENTS_VIEW, "campaigns.add_event", "campaigns.change_event", "campaigns.check_in_guests")
_EVENTS_CHECK_IN = (*_EVENTS_VIEW, "campaigns.check_in_guests")
# The bank's contact policy (R4.3): segment managers own contact rules and timing (R9).
_CONTACT_POLICY = ("campaigns.view_contactpolicy", "campaigns.change_contactpolicy")
# Follow-ups (R7.4): those who talk to customers work them (within their scope); the director reads them.
_FOLLOWUPS_VIEW = ("sales.view_followup",)
_FOLLOWUPS_WORK = ("sales.view_followup", "sales.change_followup")

# Loyalty (R6.2, R6.3): campaign managers and the marketing director keep earn rules and tiers; those who serve
# customers read statements and redeem points for the customers they see.
_LOYALTY_VIEW = ("loyalty.view_earnrule", "loyalty.view_tier", "loyalty.view_pointsentry")
_LOYALTY_EDIT = (
    *_LOYALTY_VIEW,
    "loyalty.add_earnrule",
    "loyalty.change_earnrule",
    "loyalty.add_tier",
    "loyalty.change_tier",
)
_LOYALTY_REDEEM = (*_LOYALTY_VIEW, "loyalty.redeem_points")

ROLES: dict[Role, RoleSpec] = {
    Role.MARKETING_DIRECTOR: RoleSpec(
        _("Marketing director"),
        Scope.ALL,
        (
            *_VIEW,
            *_READ_INTERACTIONS,
            *_SEGMENTS_VIEW,
            *_CAMPAIGNS_APPROVE,
            *_EVENTS_VIEW,
            "customers.export_customers",
            "accounts.view_auditentry",
            *_OFFERS_READ,
            "offers.view_productsegmenttarget",
            "offers.view_crossproductstat",
            "offers.view_propensitymodel",
            *_FOLLOWUPS_VIEW,
            *_LOYALTY_EDIT,
        ),
    ),
    Role.MARKETING_ANALYST: RoleSpec(
        _("Marketing analyst"),
        Scope.ALL,
        (
            *_VIEW,
            *_READ_INTERACTIONS,
            *_SEGMENTS_EDIT,
            *_VALUE_SETTINGS,
            *_CAMPAIGNS_VIEW,
            "customers.export_customers",
            "customers.import_customers",
            _INGEST_INTERACTIONS,
            *_OFFERS_EDIT,
            *_LOYALTY_VIEW,
        ),
    ),
    Role.CAMPAIGN_MANAGER: RoleSpec(
        _("Campaign manager"),
        Scope.ALL,
        (
            *_VIEW,
            *_READ_INTERACTIONS,
            *_SEGMENTS_VIEW,
            "segments.snapshot_segment",
            *dict.fromkeys((*_OFFERS_READ, *_CAMPAIGNS_PLAN)),
            *_EVENTS_RUN,
            *_LOYALTY_EDIT,
        ),
        masks_national_id=True,
    ),
    Role.SEGMENT_MANAGER: RoleSpec(
        _("Segment manager"),
        Scope.ALL,
        (
            *_VIEW,
            *_READ_INTERACTIONS,
            *_SEGMENTS_EDIT,
            *_CAMPAIGNS_VIEW,
            *_CONTACT_POLICY,
            "customers.manage_consent",
            "customers.export_customers",
        ),
    ),
    Role.CHANNEL_MANAGER: RoleSpec(
        _("Channel manager"),
        Scope.ALL,
        (*_VIEW, *_READ_INTERACTIONS, *_CAMPAIGNS_VIEW, *_EVENTS_VIEW),
        masks_national_id=True,
    ),
    Role.AGENT: RoleSpec(
        _("Contact-centre agent"),
        Scope.ALL,
        (
            *_VIEW,
            *_LOG_INTERACTIONS,
            "customers.manage_consent",
            *_OFFERS_READ,
            *_FOLLOWUPS_WORK,
            *_LOYALTY_VIEW,
        ),
        masks_national_id=True,
    ),
    Role.BRANCH_OFFICER: RoleSpec(
        _("Branch officer"),
        Scope.BRANCH,
        (
            *_VIEW,
            *_EDIT,
            *_LOG_INTERACTIONS,
            *_OFFERS_READ,
            *_EVENTS_CHECK_IN,
            *_FOLLOWUPS_WORK,
            *_LOYALTY_REDEEM,
        ),
    ),
    Role.RELATIONSHIP_MANAGER: RoleSpec(
        _("Relationship manager"),
        Scope.PORTFOLIO,
        (
            *_VIEW,
            *_LOG_INTERACTIONS,
            "customers.add_customer",
            "customers.change_customer",
            "customers.manage_consent",
            *_OFFERS_READ,
            *_EVENTS_CHECK_IN,
            *_FOLLOWUPS_WORK,
            *_LOYALTY_REDEEM,
        ),
    ),
    Role.ADMINISTRATOR: RoleSpec(
        _("Administrator"),
        Scope.ALL,
        (
            *_VIEW,
            *_EDIT,
            *_LISTS,
            *_SEGMENTS_EDIT,
            *_LOG_INTERACTIONS,
            _INGEST_INTERACTIONS,
            *_VALUE_SETTINGS,
            *dict.fromkeys((*_CAMPAIGNS_PLAN, *_CAMPAIGNS_APPROVE, *_EVENTS_RUN)),
            *_CONTACT_POLICY,
            "customers.import_customers",
            "customers.merge_customers",
            "customers.export_customers",
            "accounts.view_auditentry",
            "accounts.add_apikey",
            *_OFFERS_EDIT,
            *_FOLLOWUPS_WORK,
            *_LOYALTY_EDIT,
            "loyalty.redeem_points",
        ),
    ),
}

# When a user holds several roles, the widest scope wins.
_SCOPE_ORDER = {Scope.ALL: 2, Scope.BRANCH: 1, Scope.PORTFOLIO: 0}


def widest_scope(roles: list[Role]) -> Scope:
    """The scope of the most widely seeing role among `roles` (portfolio when there are none)."""
    scopes = [ROLES[r].scope for r in roles]
    return max(scopes, key=_SCOPE_ORDER.__getitem__, default=Scope.PORTFOLIO)


def _grant(grants: dict[Role, tuple[str, ...]]) -> None:
    """Add an app's permissions to the roles that hold them (each permission once)."""
    for role, extra in grants.items():
        spec = ROLES[role]
        ROLES[role] = replace(spec, permissions=tuple(dict.fromkeys((*spec.permissions, *extra))))


# Sales (R7.2, R7.3, R8.3): those who sell take applications and work leads within their scope and see their
# funnel; branch officers also decide applications; the director supervises (reads, reassigns); an administrator
# keeps the distribution rules, the product requirements and the kiosk devices.
_SALES_SELL = (
    "sales.view_lead",
    "sales.add_lead",
    "sales.change_lead",
    "sales.view_application",
    "sales.add_application",
    "sales.change_application",
)
_SALES_SETTINGS = tuple(
    f"sales.{verb}_{model}"
    for model in ("distributionrule", "productrequirement", "kioskdevice")
    for verb in ("view", "add", "change", "delete")
)
_SALES_GRANTS: dict[Role, tuple[str, ...]] = {
    Role.MARKETING_DIRECTOR: (
        "sales.view_lead",
        "sales.reassign_lead",
        "sales.view_application",
        "sales.view_sales_kpis",
        "sales.view_distributionrule",
    ),
    Role.MARKETING_ANALYST: ("sales.view_lead", "sales.view_application", "sales.view_sales_kpis"),
    Role.AGENT: _SALES_SELL,
    Role.BRANCH_OFFICER: (*_SALES_SELL, "sales.decide_application", "sales.view_sales_kpis"),
    Role.RELATIONSHIP_MANAGER: (*_SALES_SELL, "sales.view_sales_kpis"),
    Role.ADMINISTRATOR: (
        *_SALES_SELL,
        "sales.decide_application",
        "sales.reassign_lead",
        "sales.view_sales_kpis",
        *_SALES_SETTINGS,
    ),
}
_grant(_SALES_GRANTS)
# Surveys (R6.1, R8.4): campaign managers and analysts build them and read results; the director reads results;
# agents fill them in on the phone; the administrator keeps the evaluation parameters and the kiosk keys.
_SURVEYS_VIEW = ("surveys.view_survey",)
_SURVEYS_RESULTS = (*_SURVEYS_VIEW, "surveys.view_survey_results")
_SURVEYS_BUILD = (
    *_SURVEYS_RESULTS,
    "surveys.add_survey",
    "surveys.change_survey",
    "surveys.view_evaluationparameter",
)
_SURVEYS_PHONE = (*_SURVEYS_VIEW, "surveys.answer_survey_by_phone")
_SURVEYS_ADMIN = (
    *_SURVEYS_BUILD,
    "surveys.set_survey_kiosk_key",
    *(f"surveys.{verb}_evaluationparameter" for verb in ("view", "add", "change", "delete")),
)
_grant(
    {
        Role.MARKETING_DIRECTOR: _SURVEYS_RESULTS,
        Role.MARKETING_ANALYST: _SURVEYS_BUILD,
        Role.CAMPAIGN_MANAGER: _SURVEYS_BUILD,
        Role.AGENT: _SURVEYS_PHONE,
        Role.RELATIONSHIP_MANAGER: _SURVEYS_PHONE,
        Role.BRANCH_OFFICER: _SURVEYS_PHONE,
        Role.ADMINISTRATOR: (*_SURVEYS_ADMIN, "surveys.answer_survey_by_phone"),
    }
)
# Telemarketing (R5, R8.2): agents work the console; channel and campaign managers supervise (agents' states,
# reassignment) and read the call reports; campaign managers also set up call settings, scripts and outcome codes;
# the director and the analysts read the reports.
_TELEMARKETING: dict[Role, tuple[str, ...]] = {
    Role.AGENT: ("telemarketing.work_console",),
    Role.CHANNEL_MANAGER: ("telemarketing.supervise_calls", "telemarketing.view_call_reports"),
    Role.CAMPAIGN_MANAGER: (
        "telemarketing.supervise_calls",
        "telemarketing.view_call_reports",
        "telemarketing.manage_call_campaigns",
    ),
    Role.MARKETING_DIRECTOR: ("telemarketing.view_call_reports",),
    Role.MARKETING_ANALYST: ("telemarketing.view_call_reports",),
    Role.ADMINISTRATOR: (
        "telemarketing.work_console",
        "telemarketing.supervise_calls",
        "telemarketing.view_call_reports",
        "telemarketing.manage_call_campaigns",
    ),
}
_grant(_TELEMARKETING)
