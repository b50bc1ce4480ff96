"""From a campaign's snapshots to decision rows and outbox messages, set-based (INSERT ... SELECT).

Contract used by the launch task (navid/campaigns/tasks.py) and the campaign page:
- `campaign_materialise(*, campaign_id, wave=1)`: write the decision rows (wave 1 only) and the outbox messages of
  the wave, in one transaction; a second call for the same wave writes nothing more.
- `policy_dry_run(*, campaign)`: how many customers each contact-policy rule would remove, written nowhere.
"""

from __future__ import annotations

from typing import Any

from navid.campaigns.models import Campaign


def campaign_materialise(*, campaign_id: int, wave: int = 1) -> Any:
    """Write the campaign's decision rows and the wave's outbox messages."""
    raise NotImplementedError("materialisation is not built yet")


def policy_dry_run(*, campaign: Campaign) -> Any:
    """Count, per contact-policy rule, the customers it would remove from the campaign."""
    raise NotImplementedError("the contact policy dry run is not built yet")
