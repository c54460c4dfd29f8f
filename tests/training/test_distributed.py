"""Multi-process checks: multi-worker training on localhost, SIGKILL and resume.

Each test starts `stand_in_train_main.py` children (the stand-in model under the real trainer)
with bounded timeouts; children still running at the end are killed.
"""

import signal
import sys

import numpy as np
import pytest
import tensorflow as tf
from subprocesses import (
    STAND_IN_MAIN,
    child_env,
    describe,
    run_cluster,
    run_stand_in,
)

pytestmark = pytest.mark.slow

TIMEOUT_S = 180


def load_weights(path):
    with np.load(path) as weights:
        return [weights[f"arr_{i}"] for i in range(len(weights.files))]


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def assert_close_weights(got, want):
    """Equal up to float32 rounding: the replicas' sums are added in another order than one
    process adds the whole batch."""
    assert len(got) == len(want)
    for x, y in zip(got, want, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)


def test_two_workers_on_localhost_train_the_weights_of_one_process_on_the_same_batches(tmp_path):
    single = run_stand_in(
        [str(tmp_path / "single"), "default", str(tmp_path / "s")], child_env(), TIMEOUT_S
    )
    assert single.returncode == 0, single.stderr

    model_dir = str(tmp_path / "run")
    results = run_cluster(
        lambda i: [
            sys.executable,
            STAND_IN_MAIN,
            model_dir,
            "multi_worker_mirrored",
            str(tmp_path / f"w{i}"),
        ],
        num_workers=2,
        log_dir=str(tmp_path),
        timeout=TIMEOUT_S,
    )
    assert [status for status, _ in results] == [0, 0], describe(results)

    chief, other = load_weights(tmp_path / "w0.npz"), load_weights(tmp_path / "w1.npz")
    assert_same_weights(chief, other)
    # Each worker trained on its half of every global batch and the gradients were summed: the
    # weights are those of one process on the whole batches (not of twice the gradient, as an
    # unsharded input or a loss multiplied by the worker count would give, nor of half of it).
    assert_close_weights(chief, load_weights(tmp_path / "s.npz"))
    # The chief kept its checkpoints (12 steps: epochs of 4, every 3 steps), the other
    # worker's scratch folder is gone.
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-12")
    assert not any(p.name.startswith(".worker") for p in (tmp_path / "run").iterdir())


def test_sigkilled_run_resumes_from_its_last_checkpoint_to_the_uninterrupted_result(tmp_path):
    env = child_env()
    straight = run_stand_in(
        [str(tmp_path / "straight"), "default", str(tmp_path / "a")], env, TIMEOUT_S
    )
    assert straight.returncode == 0, straight.stderr

    # Checkpoints every 3 steps and at epoch ends (4 steps): killed right after step 7, the
    # newest checkpoint is step 6 and step 7 is lost.
    interrupted_dir = str(tmp_path / "interrupted")
    killed = run_stand_in(
        [interrupted_dir, "default", str(tmp_path / "b"), "KILL@7"], env, TIMEOUT_S
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert tf.train.latest_checkpoint(interrupted_dir).endswith("ckpt-6")

    resumed = run_stand_in([interrupted_dir, "default", str(tmp_path / "b")], env, TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stderr and "at step 6" in resumed.stderr
    assert "training done: step 12 (6 this run)" in resumed.stderr
    assert_same_weights(load_weights(tmp_path / "b.npz"), load_weights(tmp_path / "a.npz"))


@pytest.mark.parametrize("name", ["TERM", "INT"])
def test_signalled_run_checkpoints_the_step_in_flight_and_resumes_from_it(tmp_path, name):
    env = child_env()
    straight = run_stand_in(
        [str(tmp_path / "straight"), "default", str(tmp_path / "a")], env, TIMEOUT_S
    )
    assert straight.returncode == 0, straight.stderr

    # The signal arrives during step 5, which is neither a step (3) nor an epoch (4)
    # checkpoint: the run finishes it, saves ckpt-5 and exits with 128 + the signal number.
    run_dir = str(tmp_path / "signalled")
    stopped = run_stand_in([run_dir, "default", str(tmp_path / "b"), f"{name}@5"], env, TIMEOUT_S)
    assert stopped.returncode == 128 + getattr(signal, f"SIG{name}"), stopped.stderr
    assert tf.train.latest_checkpoint(run_dir).endswith("ckpt-5")
    assert f"interrupted by SIG{name} at step 5" in stopped.stderr
    assert "Traceback" not in stopped.stderr

    resumed = run_stand_in([run_dir, "default", str(tmp_path / "b")], env, TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stderr
    assert "at step 5" in resumed.stderr
    assert "training done: step 12 (7 this run)" in resumed.stderr
    assert_same_weights(load_weights(tmp_path / "b.npz"), load_weights(tmp_path / "a.npz"))
