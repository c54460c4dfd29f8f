"""The default export is made of stock TensorFlow ops only, so stock TF Serving can load it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_every_op_type_is_registered_in_stock_tensorflow(stock_tf_report):
    # The probe looked each op type up in the registry of a process that never loaded our
    # library; print the list so a test log documents what the export is made of.
    print("op types:", " ".join(stock_tf_report["op_types"]))
    assert stock_tf_report["unregistered_op_types"] == []


def test_no_op_is_ours(stock_tf_report):
    assert not [op for op in stock_tf_report["op_types"] if op.startswith("Efgrnet")]


def test_the_op_walk_sees_the_whole_pipeline(stock_tf_report):
    # Decoding, resizing, the convolutions, the pure-TF deformable sampling (a gather) and
    # NMS all live in the function library; missing any would mean the walk skipped it.
    op_types = set(stock_tf_report["op_types"])
    expected = {"DecodeImage", "ResizeBilinear", "Conv2D", "CombinedNonMaxSuppression"}
    assert expected <= op_types
    assert op_types & {"GatherV2", "GatherNd", "ResourceGather"}
