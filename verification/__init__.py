"""Verification studies run by hand (not in the test suite): their tables go into docs/verification.md."""
