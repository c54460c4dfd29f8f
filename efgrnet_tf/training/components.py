"""What the trainer trains: model, input pipeline, loss and periodic evaluation, as callables.

The trainer only needs these five things, so tests can hand it small stand-ins; `efgrnet_components`
wires up the real EFGRNet pieces for a config. Evaluation is a later stage: its caller hands it
in (`efgrnet_tf.evaluation.evaluator.evaluate_model`, through `experiment.train_experiment`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import tensorflow as tf

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.pipeline import build_train_dataset
from efgrnet_tf.losses.multibox_loss import compute_losses
from efgrnet_tf.modeling.efgrnet import build_model

# outputs of the model, one batch of the input pipeline -> dict of float32 scalar losses with
# at least `total`, this replica's share of the global-batch loss.
LossFn = Callable[[dict[str, tf.Tensor], dict[str, tf.Tensor]], dict[str, tf.Tensor]]


@dataclasses.dataclass(frozen=True)
class TrainingComponents:
    """The pieces the trainer calls.

    Attributes:
      build_model: config -> Keras model taking `batch["images"]`, its BatchNorm layers
        synchronised when `train.sync_batch_norm`; called in the strategy scope.
      build_dataset: (config, input context) -> tf.data.Dataset of this input pipeline's
        per-replica batches (dicts with `images` and the labels the loss reads), repeated
        forever.
      compute_losses: see `LossFn`.
      num_train_examples: training-set size, for steps per epoch when the config leaves it 0.
      evaluate: model -> dict of metrics, run on the chief every `train.eval_every_epochs`;
        None when the run has no evaluation.
    """

    build_model: Callable[[ExperimentConfig], keras.Model]
    build_dataset: Callable[[ExperimentConfig, tf.distribute.InputContext], tf.data.Dataset]
    compute_losses: LossFn
    num_train_examples: int
    evaluate: Callable[[keras.Model], dict] | None = None


def efgrnet_components(
    cfg: ExperimentConfig, evaluate: Callable[[keras.Model], dict] | None = None
) -> TrainingComponents:
    """The EFGRNet model, the config's training pipeline and the two-stage loss.

    Args:
      cfg: the experiment.
      evaluate: the periodic evaluation (`TrainingComponents.evaluate`), or None.
    """
    image_size = cfg.model.image_size
    anchors_cxcywh = generate_anchors(cfg.anchors, (image_size, image_size))

    def losses(outputs, batch):
        return compute_losses(outputs, batch, anchors_cxcywh, cfg.loss, cfg.anchors.variances)

    return TrainingComponents(
        build_model=build_model,
        build_dataset=build_train_dataset,
        compute_losses=losses,
        num_train_examples=dataset_info(cfg).num_train_examples,
        evaluate=evaluate,
    )
