"""EFGRNet learns on the synthetic shapes set: the CI schedule of the demo model.

The session fixture `trained_ci_run` (`tests/trained_ci_run.py`) trains the demo's model with
the demo's recipe from scratch for 600 steps (the demo runs 1,600). Measured on 2 CPU cores
(~4 minutes): the total loss falls from ~18 (step 4) to ~6, and COCO AP50 on the held-out split
goes from 0.00002 (untrained) to 0.33. The bars below sit well inside those numbers; a broken
loss, optimizer, input scaling or data path leaves AP50 near 0.
"""

import numpy as np
import pytest


@pytest.mark.slow
def test_short_schedule_lowers_the_loss_and_lifts_ap50_above_the_untrained_model(trained_ci_run):
    totals = trained_ci_run.loss_totals
    assert np.mean(totals[-3:]) < 0.6 * totals[0], totals
    assert trained_ci_run.untrained_metrics["AP50"] < 0.001, trained_ci_run.untrained_metrics
    assert trained_ci_run.trained_metrics["AP50"] > 0.15, trained_ci_run.trained_metrics
