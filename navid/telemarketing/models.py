"""Models of telemarketing."""
