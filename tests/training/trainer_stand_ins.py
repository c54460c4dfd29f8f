"""A tiny model, data set and loss that stand in for EFGRNet in the trainer's tests.

The loss has the property the trainer relies on: each replica returns its share of the
global-batch loss (a sum over its images divided by the global batch size).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.training.components import TrainingComponents

IMAGE_SIZE = 8
NUM_EXAMPLES = 16


def stand_in_config(**train_overrides):
    """An experiment config whose `train` section is small and fast; fields can be overridden."""
    train = {
        "global_batch_size": 4,
        "epochs": 2,
        "base_learning_rate": 0.05,
        "warmup_epochs": 0.5,
        "warmup_start_learning_rate": 0.01,
        "lr_boundaries_epochs": [1.0],
        "lr_values": [0.02],
        "checkpoint_every_steps": 3,
        "log_every_steps": 2,
        "seed": 1,
    }
    train.update(train_overrides)
    return config_from_dict({"name": "stand_in", "train": train})


class ConvBNReLU(keras.layers.Layer):
    """Conv, BatchNorm, ReLU."""

    def __init__(self, synchronized: bool, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")
        self.bn = keras.layers.BatchNormalization(synchronized=synchronized, name="bn")

    def call(self, inputs, training=None):
        return keras.ops.relu(self.bn(self.conv(inputs), training=training))


def build_stand_in_model(cfg) -> keras.Model:
    """Conv + BatchNorm (nested in a block, synchronised when `train.sync_batch_norm`) + dense:
    [B, 8, 8, 3] -> {"prediction": [B, 2]}."""
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="images")
    x = ConvBNReLU(cfg.train.sync_batch_norm, name="block")(images)
    x = keras.layers.GlobalAveragePooling2D()(x)
    prediction = keras.layers.Dense(2, name="dense", dtype="float32")(x)
    return keras.Model(images, {"prediction": prediction})


def build_stand_in_dataset(cfg, input_context: tf.distribute.InputContext) -> tf.data.Dataset:
    """Deterministic examples (image and target a function of the index), shuffled with a seed,
    sharded over input pipelines, batched per replica, repeated forever.

    Every pipeline shuffles the same way before taking its share, so global batch k holds the
    same examples whatever the number of pipelines: a multi-worker run can be compared with a
    single-process one.
    """
    per_replica_batch = input_context.get_per_replica_batch_size(cfg.train.global_batch_size)

    def example(index):
        seed = tf.stack([index, tf.constant(7, tf.int64)])
        image = tf.random.stateless_uniform((IMAGE_SIZE, IMAGE_SIZE, 3), seed, -1.0, 1.0)
        target = tf.stack([tf.reduce_mean(image), tf.reduce_mean(image[..., 0]) * 2.0])
        return {"images": image, "target": target}

    dataset = tf.data.Dataset.range(NUM_EXAMPLES).shuffle(
        NUM_EXAMPLES, seed=cfg.train.seed, reshuffle_each_iteration=True
    )
    dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    return dataset.map(example).batch(per_replica_batch, drop_remainder=True).repeat()


def stand_in_losses(global_batch_size: int):
    """Squared error summed over the replica's images / the global batch size, plus a second
    term, so that the dict has stage-like entries and a `total`."""

    def losses(outputs, batch):
        error = tf.square(outputs["prediction"] - batch["target"])
        first = tf.reduce_sum(error[:, 0]) / global_batch_size
        second = tf.reduce_sum(error[:, 1]) / global_batch_size
        return {"first": first, "second": second, "total": first + second}

    return losses


def stand_in_components(cfg, loss_fn=None) -> TrainingComponents:
    return TrainingComponents(
        build_model=build_stand_in_model,
        build_dataset=build_stand_in_dataset,
        compute_losses=loss_fn or stand_in_losses(cfg.train.global_batch_size),
        num_train_examples=NUM_EXAMPLES,
    )
