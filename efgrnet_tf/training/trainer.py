"""The custom training loop on `tf.distribute`: one synchronous SGD step per global batch.

Per step, each replica runs the model on its share of the global batch, computes its share of
the loss (`compute_losses` normalises by positives over the global batch, so replica shares add
up to the global loss), and the optimizer sums the replicas' gradients (Keras' all-reduce in
`apply_gradients`) before the coupled-L2 SGD update. Under mixed precision the loss is scaled
and `keras.optimizers.LossScaleOptimizer` unscales the gradients and skips non-finite steps.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from absl import logging

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.modeling.precision import INFERENCE_ONLY_PRECISIONS
from efgrnet_tf.training.checkpointing import TrainingCheckpoint
from efgrnet_tf.training.components import TrainingComponents
from efgrnet_tf.training.init_checkpoint import initialize_from_checkpoint
from efgrnet_tf.training.interruption import StopRequests, TrainingInterrupted
from efgrnet_tf.training.optimizer import optimizer_from_config
from efgrnet_tf.training.run_folder import check_restart, record_config
from efgrnet_tf.training.schedule import schedule_from_config
from efgrnet_tf.training.strategy import is_chief, worker_id
from efgrnet_tf.training.summaries import TrainingReporter
from efgrnet_tf.user_errors import UserInputError


def check_trainable_precision(cfg: ExperimentConfig) -> None:
    """Refuses the inference-only precisions (`bfloat16`), naming the one to train in.

    Raises:
      UserInputError: `model.precision` is one of `INFERENCE_ONLY_PRECISIONS`.
    """
    precision = cfg.model.precision
    if precision in INFERENCE_ONLY_PRECISIONS:
        raise UserInputError(
            f"model.precision={precision} stores the weights in {precision} and is for "
            f"evaluate, export and predict only; train in {INFERENCE_ONLY_PRECISIONS[precision]}"
        )


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or Inf; the run stopped without saving the bad weights."""


def steps_per_epoch(cfg: ExperimentConfig, num_train_examples: int) -> int:
    """`train.steps_per_epoch`, or the training-set size // the global batch size."""
    if cfg.train.steps_per_epoch:
        return cfg.train.steps_per_epoch
    steps = num_train_examples // cfg.train.global_batch_size
    if steps <= 0:
        raise ValueError(
            f"{num_train_examples} training examples make no full batch of "
            f"{cfg.train.global_batch_size}; set train.steps_per_epoch"
        )
    return steps


class Trainer:
    """Trains `components.build_model(cfg)` into `model_dir` under `strategy`.

    Creating a Trainer sets the global Keras dtype policy to `model.precision` (float16 also
    scales the loss, bfloat16 needs no scaling) and seeds Python, NumPy and TensorFlow with
    `train.seed`; the model, optimizer and checkpoint are created in the strategy's scope.

    Args:
      cfg: the experiment.
      model_dir: run folder: checkpoints `ckpt-<step>`, `config.yaml`, TensorBoard `train/`,
        `eval/`.
      strategy: from `strategy.create_strategy`.
      components: what to train (`components.efgrnet_components(cfg)` for EFGRNet).
    """

    def __init__(
        self,
        cfg: ExperimentConfig,
        model_dir: str,
        strategy: tf.distribute.Strategy,
        components: TrainingComponents,
    ):
        self.cfg = cfg
        self.model_dir = model_dir
        self.strategy = strategy
        self._components = components
        self._is_chief = is_chief(strategy)
        train_cfg = cfg.train
        self.steps_per_epoch = steps_per_epoch(cfg, components.num_train_examples)
        self.total_steps = train_cfg.epochs * self.steps_per_epoch

        check_trainable_precision(cfg)
        keras.mixed_precision.set_global_policy(cfg.model.precision)
        keras.utils.set_random_seed(train_cfg.seed)
        if train_cfg.deterministic_ops:
            tf.config.experimental.enable_op_determinism()

        tf.io.gfile.makedirs(model_dir)
        with strategy.scope():
            self.model = components.build_model(cfg)
            self.optimizer = optimizer_from_config(
                train_cfg, schedule_from_config(train_cfg, self.steps_per_epoch)
            )
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")

        dataset = strategy.distribute_datasets_from_function(
            lambda context: components.build_dataset(cfg, context)
        )
        self._iterator = iter(dataset)
        # tf.distribute iterators cannot be checkpointed; plain ones (one replica) can.
        saves_iterator = train_cfg.checkpoint_data_iterator and isinstance(
            self._iterator, tf.__internal__.tracking.Trackable
        )
        if train_cfg.checkpoint_data_iterator and not saves_iterator:
            logging.warning(
                "the input position is not checkpointed under %s; a resumed run starts a new "
                "pass over the data",
                type(strategy).__name__,
            )
        self.checkpoint = TrainingCheckpoint(
            model_dir,
            self.model,
            self.optimizer,
            self.step,
            self.epoch,
            iterator=self._iterator if saves_iterator else None,
            max_to_keep=train_cfg.keep_checkpoints,
            is_chief=self._is_chief,
            worker_id=worker_id(strategy),
        )
        self._train_step = tf.function(self._distributed_step)
        self._any_worker_stopping = tf.function(self._stop_agreement)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step."""
        return float(self.optimizer.learning_rate)

    def _replica_step(self, batch):
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            outputs = self.model(batch["images"], training=True)
            losses = self._components.compute_losses(outputs, batch)
            scaled_loss = self.optimizer.scale_loss(losses["total"])
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return losses

    def _distributed_step(self, iterator):
        per_replica = self.strategy.run(self._replica_step, args=(next(iterator),))
        return {
            name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for name, value in per_replica.items()
        }

    def _stop_agreement(self, stop_requested):
        """True on every worker when any worker was signalled: all stop after the same step."""
        per_replica = self.strategy.run(lambda: tf.cast(stop_requested, tf.int32))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None) > 0

    def restore(self, require_checkpoint: bool = False) -> str | None:
        """Restores the newest checkpoint in `model_dir`, if any; returns its path.

        Without one, a `train.init_checkpoint` gives the model its starting weights (a new run
        at step 0, `init_checkpoint.initialize_from_checkpoint`); with one, resuming wins and
        `train.init_checkpoint` is ignored, so a restarted fine-tuning run continues.

        Raises:
          IncompatibleRestartError: the run folder's recorded config differs from this one in a
            field that shapes the checkpointed state (`run_folder.check_restart`).
          FileNotFoundError: `require_checkpoint` and there is none.
          CheckpointError: `train.init_checkpoint` is missing, unreadable or does not fit.
        """
        check_restart(self.cfg, self.model_dir)
        path = self.checkpoint.restore_latest()
        if path is None and require_checkpoint:
            raise FileNotFoundError(f"--resume: no checkpoint in {self.model_dir}")
        init_checkpoint = self.cfg.train.init_checkpoint
        if path is not None:
            logging.info(
                "resumed from %s at step %d (epoch %d), lr %.3g",
                path,
                int(self.step.numpy()),
                int(self.epoch.numpy()),
                self.learning_rate,
            )
            if init_checkpoint:
                logging.info(
                    "train.init_checkpoint %s ignored: %s already holds checkpoints, resuming",
                    init_checkpoint,
                    self.model_dir,
                )
        elif init_checkpoint:
            initialize_from_checkpoint(self.model, init_checkpoint)
        return path

    def train(self) -> dict[str, float]:
        """Trains from the current step to `train.epochs` epochs; returns the end summary.

        Saves a checkpoint every `train.checkpoint_every_steps` steps, every
        `train.checkpoint_every_epochs` epochs and at the last step, evaluates every
        `train.eval_every_epochs` epochs (chief only). Records the config in the run folder
        (`run_folder.record_config`).

        Raises:
          NonFiniteLossError: a step's loss was NaN or Inf; the newest checkpoint on disk is
            the last one saved before that step.
          TrainingInterrupted: SIGINT or SIGTERM arrived (on any worker); the step in flight
            was finished and checkpointed.
        """
        if self._is_chief:
            record_config(self.cfg, self.model_dir)
        with StopRequests() as stop:
            return self._train_loop(stop)

    def _train_loop(self, stop: StopRequests) -> dict[str, float]:
        train_cfg = self.cfg.train
        reporter = TrainingReporter(
            self.model_dir,
            train_cfg.global_batch_size,
            self.total_steps,
            write_summaries=self._is_chief,
        )
        step = int(self.step.numpy())
        reporter.start(step)
        losses = {}
        while step < self.total_steps:
            lr = self.learning_rate
            losses = {k: float(v) for k, v in self._train_step(self._iterator).items()}
            if not all(math.isfinite(v) for v in losses.values()):
                raise NonFiniteLossError(
                    f"non-finite loss at step {step + 1}: {losses}; stopping. The last good "
                    f"checkpoint is {tf.train.latest_checkpoint(self.model_dir)}"
                )
            step += 1
            self.step.assign(step)
            epoch_done = step % self.steps_per_epoch == 0
            epoch = step // self.steps_per_epoch
            if epoch_done:
                self.epoch.assign(epoch)
            if step % train_cfg.log_every_steps == 0 or step == self.total_steps:
                reporter.log_step(step, step / self.steps_per_epoch, losses, lr)
            stopping = bool(self._any_worker_stopping(tf.constant(stop.requested)))
            if stopping or self._checkpoint_due(step, epoch_done):
                path = self.checkpoint.save()
                if stopping:
                    reporter.summary(step, losses)
                    interrupted = TrainingInterrupted(stop.signal_number, step, path)
                    logging.warning("%s; run the same command again to resume", interrupted)
                    raise interrupted
            if (
                epoch_done
                and train_cfg.eval_every_epochs
                and epoch % train_cfg.eval_every_epochs == 0
                and self._components.evaluate is not None
                and self._is_chief
            ):
                reporter.log_eval(step, self._components.evaluate(self.model))
        return reporter.summary(step, losses)

    def _checkpoint_due(self, step: int, epoch_done: bool) -> bool:
        """Whether the checkpoint cadence of `train` asks for a save after `step`."""
        every_epochs = self.cfg.train.checkpoint_every_epochs
        return (
            step == self.total_steps
            or step % self.cfg.train.checkpoint_every_steps == 0
            or (
                epoch_done
                and every_epochs > 0
                and (step // self.steps_per_epoch) % every_epochs == 0
            )
        )
