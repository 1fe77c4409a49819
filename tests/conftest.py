"""Shared test configuration.

``HYPOTHESIS_PROFILE=thorough`` runs the property tests with 20x more examples
(3,000 each instead of 150).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", max_examples=150, deadline=None)
settings.register_profile("thorough", max_examples=3000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
