"""Every fuzz target (tests/fuzz/fuzz_targets.py), briefly, in every test run.

Each target runs on its structured inputs (valid streams, mutated by a few octets)
and on raw random bytes. The ``fuzz``-marked variants run many more examples
(``pytest -m fuzz tests/fuzz``); ``bench/fuzz.py`` runs one target for a time budget.
"""

from __future__ import annotations

import pytest
from fuzz_targets import TARGETS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: examples per target and input kind in the default (short) run
SHORT = {"connection": 60, "frames": 120}
#: ... and in the long (``-m fuzz``) run
LONG = 20_000

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _run(name: str, data: st.DataObject, raw: bool) -> None:
    target = TARGETS[name]
    inputs = st.binary(max_size=600) if raw else target.inputs
    target.run(data.draw(inputs, label="input"))


@pytest.mark.parametrize("raw", [False, True], ids=["structured", "raw"])
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_short(name: str, raw: bool) -> None:
    @settings(max_examples=SHORT.get(name, 150), deadline=None, suppress_health_check=_QUIET)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        _run(name, data, raw)

    run()


@pytest.mark.fuzz
@pytest.mark.parametrize("raw", [False, True], ids=["structured", "raw"])
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_long(name: str, raw: bool) -> None:
    @settings(max_examples=LONG, deadline=None, suppress_health_check=_QUIET)
    @given(st.data())
    def run(data: st.DataObject) -> None:
        _run(name, data, raw)

    run()
