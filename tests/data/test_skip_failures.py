"""`map_records`: file records that fail are skipped and named; rendered records raise."""

import pytest
import tensorflow as tf

from efgrnet_tf.data.skip_failures import map_records


def _decode_or_fail(record):
    tf.debugging.assert_positive(record["image_id"], message="undecodable")
    return {"image_id": record["image_id"] * 10}


def test_file_records_that_fail_are_skipped_in_order_and_named(capfd):
    records = tf.data.Dataset.from_tensor_slices(
        {
            "image_encoded": ["a", "b", "c", "d"],
            "source_file": ["a.jpg", "b.jpg", "c.jpg", "d.jpg"],
            "image_id": tf.constant([1, -2, 3, -4], tf.int64),
        }
    )
    values = [int(e["image_id"]) for e in map_records(records, _decode_or_fail, True)]
    assert values == [10, 30]
    warnings = [line for line in capfd.readouterr().err.splitlines() if "skipping" in line]
    assert len(warnings) == 2
    assert "b.jpg" in warnings[0] and "d.jpg" in warnings[1]


def test_tuple_elements_pass_unpacked_and_are_named_by_image_id(capfd):
    records = tf.data.Dataset.from_tensor_slices(
        {"image_encoded": ["a", "b"], "image_id": tf.constant([-7, 5], tf.int64)}
    )
    seeds = tf.data.Dataset.range(2)

    def with_seed(record, seed):
        return _decode_or_fail(record)["image_id"] + seed

    dataset = map_records(tf.data.Dataset.zip((records, seeds)), with_seed, True)
    assert [int(v) for v in dataset] == [51]
    assert "image id -7" in capfd.readouterr().err


def test_rendered_records_are_mapped_plainly_so_a_failure_raises():
    records = tf.data.Dataset.from_tensor_slices({"image_id": tf.constant([1, -2], tf.int64)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="undecodable"):
        list(map_records(records, _decode_or_fail, True))
