"""Loyalty points ledger, tiers and tier offers (R6.2, R6.3)."""
