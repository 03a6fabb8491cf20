"""Every reference run is bit-identical to the stored regression baseline (tests/regression/baseline).

A difference fails, naming what changed. If the change is intended, refresh the baseline with
`python -m tests.regression update` in a commit that says what changed and why; if the baseline was
made on another machine, the failure says so (the difference may be the machine's, not the code's).
"""

import pytest

from tests.regression.__main__ import machine_differences, stored_machine
from tests.regression.cases import CASES, differences, machine, run


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reference_run_is_bit_identical_to_the_baseline(case):
    summary, ts = run(case)
    diffs = differences(case, summary, ts)
    if diffs:
        moved = machine_differences(stored_machine(), machine())
        where = ("\nThe baseline was made on another machine; the difference may be the machine's:\n  "
                 + "\n  ".join(moved)) if moved else "\nSame machine as the baseline: the code changed the results."
        pytest.fail("\n".join(diffs[:20]) + where + "\nIf intended: python -m tests.regression update "
                    "(in a commit that says what changed and why)")


def test_the_baseline_detects_a_changed_result():
    # a check that cannot fail proves nothing: perturb one stored value and one summary entry
    case = CASES[-1]
    summary, ts = run(case)
    ts = ts.copy()
    ts.loc[len(ts) // 2, "open_area_cm2"] = ts["open_area_cm2"].iloc[len(ts) // 2] * (1 + 2**-52)
    summary = dict(summary, par_week4=1.0)
    diffs = differences(case, summary, ts)
    assert any("open_area_cm2" in d for d in diffs) and any("par_week4" in d for d in diffs)
