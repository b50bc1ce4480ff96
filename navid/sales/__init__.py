"""Leads, applications, follow-ups, distribution, funnel and KPIs (R7.2-R7.4, R8.3)."""
