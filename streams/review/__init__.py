"""The review service (``txscreen review serve``): four-eyes decisions on blocked payments, the allowlist."""
