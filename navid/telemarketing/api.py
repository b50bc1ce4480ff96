"""REST API of telemarketing."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["telemarketing"])
