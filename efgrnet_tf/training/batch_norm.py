"""Synchronised BatchNorm for a model built without it (`train.sync_batch_norm`)."""

from __future__ import annotations

import keras


def synchronize_batch_norm(model: keras.Model) -> int:
    """Makes every `BatchNormalization` layer in `model` (nested ones included) synchronised.

    A synchronised layer computes its training-time mean and variance over the global batch
    (all replicas) instead of the replica's share, so results do not depend on how the batch is
    split. Keras reads `synchronized` at call time, so this works on a built model as long as it
    has not been traced yet. Returns the number of layers changed.
    """
    count = 0
    # Keras has no public recursive layer listing; `_flatten_layers` also finds the layers held
    # as attributes of custom layers (e.g. ConvBN's BatchNorm).
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
            layer.synchronized = True
            count += 1
    return count
