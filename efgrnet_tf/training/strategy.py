"""Picks the `tf.distribute` strategy the trainer runs under, by name."""

from __future__ import annotations

import functools
import json
import os

import tensorflow as tf

STRATEGY_NAMES = ("default", "mirrored", "multi_worker_mirrored")


@functools.cache
def create_strategy(name: str) -> tf.distribute.Strategy:
    """Returns the strategy called `name`, one instance per name and process.

    (Two MirroredStrategy instances over the same devices in one process reuse collective-op
    keys and fail with shape mismatches, hence the cache.)

    - `default`: no distribution; one device (the first GPU if any, else the CPU).
    - `mirrored`: synchronous data parallelism over all local GPUs (all logical CPUs when there
      is no GPU), gradients all-reduced by summation.
    - `multi_worker_mirrored`: the same across machines; the cluster and this worker's role come
      from the `TF_CONFIG` environment variable, which must be set.
    Must be called before any TensorFlow op runs when `multi_worker_mirrored` is used.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=cpus)
    if name == "multi_worker_mirrored":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("strategy multi_worker_mirrored needs the TF_CONFIG variable set")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; expected one of {STRATEGY_NAMES}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints, summaries and the run config.

    Single-process strategies are always chief; in a multi-worker cluster the chief is the task
    of type `chief`, or worker 0 when the cluster has no `chief` task.
    """
    resolver = getattr(strategy.extended, "_cluster_resolver", None)
    if resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type is None:
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def worker_id(strategy: tf.distribute.Strategy) -> int:
    """This process' task id in the cluster (0 for single-process strategies)."""
    resolver = getattr(strategy.extended, "_cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None else 0
