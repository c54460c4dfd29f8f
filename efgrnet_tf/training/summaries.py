"""Progress reporting: TensorBoard scalars, a per-N-step log line with ETA, an end summary."""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Mapping

import tensorflow as tf
from absl import logging
from tensorflow.core.framework import summary_pb2

# TensorBoard's scalar-plugin metadata, so that events written with the core `tf.summary.write`
# op show as scalars without the `tensorboard` package (not a TensorFlow dependency) installed.
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR,
).SerializeToString()


def write_scalar(name: str, value: float, step: int) -> None:
    """Writes one TensorBoard scalar to the default summary writer."""
    tf.summary.write(name, tf.constant(value, tf.float32), step=step, metadata=_SCALAR_METADATA)


def format_duration(seconds: float) -> str:
    """`3725.2` -> `'1:02:05'` (h:mm:ss)."""
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclasses.dataclass
class _Window:
    """Steps and wall time since the last log line."""

    start_time: float
    start_step: int


class TrainingReporter:
    """Writes `model_dir/train` (losses per stage, learning rate, images/s) and `model_dir/eval`
    TensorBoard events and logs one line every `log_every_steps` steps.

    Only the chief writes events; other workers log to the console only.

    Args:
      model_dir: the run folder.
      global_batch_size: images per step over all replicas (for images/s).
      total_steps: the step the run ends at (for the ETA).
      write_summaries: False on non-chief workers.
    """

    def __init__(
        self, model_dir: str, global_batch_size: int, total_steps: int, write_summaries: bool
    ):
        self._global_batch_size = global_batch_size
        self._total_steps = total_steps
        self._train_writer = self._eval_writer = None
        if write_summaries:
            self._train_writer = tf.summary.create_file_writer(os.path.join(model_dir, "train"))
            self._eval_writer = tf.summary.create_file_writer(os.path.join(model_dir, "eval"))
        self._window = None
        self._run_start = None
        self._run_start_step = 0

    def start(self, step: int) -> None:
        """Starts the clocks at `step` (0, or the restored step of a resumed run)."""
        self._run_start = time.perf_counter()
        self._run_start_step = step
        self._window = _Window(self._run_start, step)

    def log_step(self, step: int, epoch: float, losses: Mapping[str, float], lr: float) -> None:
        """Writes the scalars of `step` and logs `step/total`, losses, lr, images/s and ETA."""
        now = time.perf_counter()
        steps = step - self._window.start_step
        elapsed = now - self._window.start_time
        steps_per_second = steps / elapsed if elapsed > 0 else math.nan
        images_per_second = steps_per_second * self._global_batch_size
        eta = (self._total_steps - step) / steps_per_second if steps_per_second > 0 else math.nan
        self._window = _Window(now, step)
        if self._train_writer is not None:
            with self._train_writer.as_default():
                for name, value in losses.items():
                    write_scalar(f"loss/{name}", value, step)
                write_scalar("learning_rate", lr, step)
                write_scalar("images_per_second", images_per_second, step)
                write_scalar("epoch", epoch, step)
        terms = " ".join(f"{name}={value:.4f}" for name, value in losses.items())
        logging.info(
            "step %d/%d epoch %.2f | %s | lr=%.3g | %.1f img/s | ETA %s",
            step,
            self._total_steps,
            epoch,
            terms,
            lr,
            images_per_second,
            format_duration(eta) if math.isfinite(eta) else "?",
        )

    def log_eval(self, step: int, metrics: Mapping[str, float]) -> None:
        """Writes evaluation metrics (numbers only) under `eval/` and logs them."""
        scalars = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        if self._eval_writer is not None:
            with self._eval_writer.as_default():
                for name, value in scalars.items():
                    write_scalar(f"metrics/{name}", value, step)
        logging.info(
            "eval at step %d: %s", step, " ".join(f"{k}={v:.4f}" for k, v in scalars.items())
        )

    def summary(self, step: int, losses: Mapping[str, float]) -> dict[str, float]:
        """Logs and returns the end-of-training summary of this process' run."""
        wall = time.perf_counter() - self._run_start
        steps = step - self._run_start_step
        result = {
            "final_step": float(step),
            "steps_this_run": float(steps),
            "wall_seconds": wall,
            "images_per_second": steps * self._global_batch_size / wall if wall > 0 else 0.0,
            **{f"loss/{k}": float(v) for k, v in losses.items()},
        }
        logging.info(
            "training done: step %d (%d this run) in %s, %.1f img/s, final loss %s",
            step,
            steps,
            format_duration(wall),
            result["images_per_second"],
            " ".join(f"{k}={v:.4f}" for k, v in losses.items()),
        )
        for writer in (self._train_writer, self._eval_writer):
            if writer is not None:
                writer.flush()
        return result
