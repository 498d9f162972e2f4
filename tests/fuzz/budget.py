"""The fuzz suite's budgets: hypothesis profiles, and the examples each test runs.

`ci` (the default, what `make test` runs): a bounded number of examples per test, drawn
from a fixed seed, so that a failure is the same on every machine and the suite stays
under two minutes. `fuzz` (`make fuzz`): a deeper random search, SEGMINT_FUZZ_EXAMPLES
examples per test (500 by default), the failing examples kept in .hypothesis/ so that a
failure found once is tried first the next time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
PROFILE = os.environ.get("SEGMINT_FUZZ_PROFILE", "ci")
FUZZ_EXAMPLES = int(os.environ.get("SEGMINT_FUZZ_EXAMPLES", "500"))

settings.register_profile(
    "ci", max_examples=40, derandomize=True, database=None, deadline=None,
    suppress_health_check=_SLOW, print_blob=True,
)  # fmt: skip
settings.register_profile(
    "fuzz", max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=_SLOW,
    print_blob=True,
)  # fmt: skip
settings.load_profile(PROFILE)


def examples(ci: int) -> settings:
    """Settings giving a test `ci` examples in the ci profile (the profile's count otherwise)."""
    return settings(max_examples=ci if PROFILE == "ci" else FUZZ_EXAMPLES)
