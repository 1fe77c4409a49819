"""Test support: event builders, the reference oracle and comparison helpers."""
