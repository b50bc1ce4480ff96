"""Call lists, the agent console, the auto-dialer's use and call reports (R5, R8.2)."""
