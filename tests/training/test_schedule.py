"""The warm-up + step learning-rate schedule against hand-computed values."""

import keras
import numpy as np
import pytest

from efgrnet_tf.config import TrainConfig
from efgrnet_tf.training.schedule import WarmupStepSchedule, schedule_from_config

# VOC recipe (paper Sec. 4.2): 1e-6 -> 4e-3 over 5 epochs, x0.1 at epochs 150 and 200;
# 100 steps/epoch.
VOC = TrainConfig()
STEPS_PER_EPOCH = 100


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, 1e-6),
        (1, 1e-6 + (4e-3 - 1e-6) * 1 / 500),
        (250, 1e-6 + (4e-3 - 1e-6) * 0.5),
        (499, 1e-6 + (4e-3 - 1e-6) * 499 / 500),
        (500, 4e-3),
        (14_999, 4e-3),
        (15_000, 4e-4),
        (19_999, 4e-4),
        (20_000, 4e-5),
        (25_000, 4e-5),
    ],
)
def test_voc_schedule_warms_up_linearly_then_steps_at_epoch_boundaries(step, expected):
    schedule = schedule_from_config(VOC, STEPS_PER_EPOCH)
    np.testing.assert_allclose(float(schedule(step)), expected, rtol=1e-6)


def test_coco_schedule_takes_each_value_from_its_boundary_epoch():
    schedule = WarmupStepSchedule(
        base_learning_rate=4e-3,
        steps_per_epoch=10,
        warmup_epochs=5,
        warmup_start_learning_rate=1e-6,
        boundaries_epochs=(90, 110, 130, 150),
        values=(2e-3, 4e-4, 4e-5, 4e-6),
    )
    epochs = [5, 89.9, 90, 109.9, 110, 130, 150, 159.9]
    expected = [4e-3, 4e-3, 2e-3, 2e-3, 4e-4, 4e-5, 4e-6, 4e-6]
    got = [float(schedule(round(e * 10))) for e in epochs]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_schedule_without_warmup_starts_at_the_base_rate():
    schedule = WarmupStepSchedule(base_learning_rate=0.1, steps_per_epoch=3)
    assert float(schedule(0)) == pytest.approx(0.1)


def test_schedule_round_trips_through_keras_serialization():
    schedule = schedule_from_config(VOC, STEPS_PER_EPOCH)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert isinstance(restored, WarmupStepSchedule)
    assert restored.get_config() == schedule.get_config()
    for step in (0, 321, 17_000):
        assert float(restored(step)) == float(schedule(step))
