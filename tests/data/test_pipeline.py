"""Train/eval batches: format of docs/design.md, distribution, determinism, exactly-once eval."""

import numpy as np
import tensorflow as tf

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.pipeline import build_eval_dataset, build_train_dataset
from efgrnet_tf.data.sources.catalog import open_source

SIZE = 64


def _config(eval_size=5, **data):
    return config_from_dict(
        {
            "data": {
                "synthetic": {"train_size": 12, "eval_size": eval_size, "image_size": 48},
                "shuffle_buffer": 16,
                "max_boxes": 12,
                **data,
            },
            "model": {"image_size": SIZE, "num_classes": 5},
            "train": {"global_batch_size": 4},
            "eval": {"batch_size": 2},
        }
    )


def _decoded_eval_examples(cfg):
    """The source's decoded eval examples (unpadded annotations), in eval order."""
    source = open_source(cfg)
    return list(source.eval_records(None).map(source.decode).as_numpy_iterator())


def _assert_batch_format(batch, batch_size, max_boxes=12):
    expected = {
        "images": ((batch_size, SIZE, SIZE, 3), tf.float32),
        "boxes": ((batch_size, max_boxes, 4), tf.float32),
        "classes": ((batch_size, max_boxes), tf.int32),
        "is_difficult": ((batch_size, max_boxes), tf.bool),
        "is_crowd": ((batch_size, max_boxes), tf.bool),
        "image_id": ((batch_size,), tf.int64),
        "original_size_hw": ((batch_size, 2), tf.int32),
    }
    assert set(batch) == set(expected)
    for key, (shape, dtype) in expected.items():
        assert tuple(batch[key].shape) == shape and batch[key].dtype == dtype, key
    classes = batch["classes"].numpy()
    padded = classes == -1
    assert np.all((classes >= 1) | padded)
    assert np.all(batch["boxes"].numpy()[padded] == 0.0)
    boxes = batch["boxes"].numpy()[~padded]
    assert np.all((boxes >= 0) & (boxes <= 1))
    assert np.all(np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= 0.01)


def test_train_batches_have_the_design_format_and_repeat():
    cfg = _config()
    batches = list(build_train_dataset(cfg).take(5))  # 20 images > 12: the data repeats
    for batch in batches:
        _assert_batch_format(batch, 4)
    assert dataset_info(cfg).num_train_examples == 12


def test_same_seed_gives_identical_training_batches():
    def first_batches(seed):
        dataset = build_train_dataset(_config(deterministic=True, seed=seed))
        return [b for b in dataset.take(2)]

    a, b, c = first_batches(3), first_batches(3), first_batches(4)
    for x, y in zip(a, b, strict=True):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    assert not np.array_equal(a[0]["images"], c[0]["images"])


def test_two_replicas_get_per_replica_batches_of_distinct_images(two_replica_strategy):
    strategy = two_replica_strategy
    cfg = _config(deterministic=True)
    dataset = strategy.distribute_datasets_from_function(lambda ctx: build_train_dataset(cfg, ctx))
    batch = next(iter(dataset))
    per_replica = strategy.experimental_local_results(batch)
    assert len(per_replica) == 2
    for replica_batch in per_replica:
        _assert_batch_format(replica_batch, 2)
    # Each input pipeline reads its own shard of the 12 images.
    ids = [set(b["image_id"].numpy().tolist()) for b in per_replica]
    assert not ids[0] & ids[1]


def test_eval_visits_every_image_once_in_order_and_keeps_the_partial_batch():
    cfg = _config()
    batches = list(build_eval_dataset(cfg))
    assert [int(b["images"].shape[0]) for b in batches] == [2, 2, 1]
    for batch in batches[:2]:
        _assert_batch_format(batch, 2)
    ids = np.concatenate([b["image_id"].numpy() for b in batches]).tolist()
    assert ids == [0, 1, 2, 3, 4]
    examples = _decoded_eval_examples(cfg)
    assert [int(e["image_id"]) for e in examples] == ids
    for example, i in zip(examples, range(5), strict=True):
        batch, row = batches[i // 2], i % 2
        n = len(example["classes"])
        np.testing.assert_allclose(batch["boxes"][row, :n], example["boxes"])
        np.testing.assert_array_equal(batch["classes"][row, :n], example["classes"])
        assert np.all(batch["classes"][row, n:] == -1)


def test_eval_shards_cover_the_split_exactly_once_across_pipelines():
    cfg = _config()
    ids = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(2, pipeline_id, 2)
        for batch in build_eval_dataset(cfg, context):
            assert batch["images"].shape[0] <= 1  # per-replica share of eval.batch_size 2
            ids.extend(batch["image_id"].numpy().tolist())
    assert sorted(ids) == [0, 1, 2, 3, 4]


def test_boxes_beyond_max_boxes_are_truncated_to_the_first_ones():
    cfg = _config(max_boxes=1, eval_size=20)
    examples = _decoded_eval_examples(cfg)
    crowded = next(i for i, e in enumerate(examples) if len(e["classes"]) > 1)
    batch = list(build_eval_dataset(cfg).unbatch())[crowded]
    assert batch["classes"].shape == (1,)
    np.testing.assert_allclose(batch["boxes"][0], examples[crowded]["boxes"][0])


def test_training_iterator_position_survives_a_checkpoint(tmp_path):
    # The trainer saves the input position with its checkpoints: a restored iterator must
    # continue with exactly the batches the saved one would have produced.
    cfg = _config(deterministic=True)
    iterator = iter(build_train_dataset(cfg))
    next(iterator)
    path = tf.train.Checkpoint(iterator=iterator).save(str(tmp_path / "ckpt"))
    expected = [next(iterator) for _ in range(3)]
    restored = iter(build_train_dataset(cfg))
    tf.train.Checkpoint(iterator=restored).restore(path)
    for want in expected:
        got = next(restored)
        np.testing.assert_array_equal(got["image_id"], want["image_id"])
        np.testing.assert_array_equal(got["images"], want["images"])
