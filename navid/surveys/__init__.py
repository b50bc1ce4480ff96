"""Satisfaction surveys, NPS and evaluation parameters (R6.1, R8.4)."""
