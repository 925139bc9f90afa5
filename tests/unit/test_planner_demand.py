import numpy as np
import pytest

from flexcapsule.planner import PlannerError
from flexcapsule.planner.demand import forecast_error, percentile_demand, predict_next


def test_percentile_demand_is_nearest_rank_in_vcpus():
    samples = list(range(1, 101))  # 1 % .. 100 %
    assert percentile_demand(samples, 95) == pytest.approx(0.95)
    assert percentile_demand([250], 50) == pytest.approx(2.5)  # a 4-vCPU app VM at 250 %


@pytest.mark.parametrize("samples, percentile, message", [
    ([], 95, "no CPU samples"), ([10, -1], 95, ">= 0"), ([10], 0, "percentile"), ([10], 101, "percentile"),
])
def test_percentile_demand_rejects_bad_input(samples, percentile, message):
    with pytest.raises(PlannerError, match=message):
        percentile_demand(samples, percentile)


def test_forecast_uses_only_the_columns_given_and_tracks_a_level():
    flat = np.full((2, 20), 0.3)
    assert predict_next(flat) == pytest.approx([0.3, 0.3])
    step = np.hstack([np.zeros((1, 10)), np.ones((1, 10))])
    assert 0.9 < predict_next(step)[0] <= 1.0
    with pytest.raises(PlannerError):
        predict_next(np.zeros((3, 0)))


def test_forecast_error_is_the_rms_of_one_step_errors_over_the_window():
    assert forecast_error(np.full((2, 20), 0.3)) == pytest.approx([0.0, 0.0])
    # A span-1 forecast is the last sample: on 0, 1, 0, 1, ... it is wrong by 1 every step.
    assert forecast_error(np.array([[0.0, 1.0] * 10]), span=1) == pytest.approx([1.0])
    # Only the last `window` samples' errors count.
    settled = np.array([[0.0, 1.0] * 5 + [0.5] * 10])
    assert forecast_error(settled, span=1, window=5) == pytest.approx([0.0])
    assert forecast_error(settled, span=1, window=20) > 0.5
    # One sample: no error yet, unless the forecast made before it (the prior) is given.
    assert forecast_error(np.array([[0.8]])) == pytest.approx([0.0])
    assert forecast_error(np.array([[0.8]]), prior=0.25) == pytest.approx([0.55])
