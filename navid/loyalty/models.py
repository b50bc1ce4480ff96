"""Models of loyalty."""
