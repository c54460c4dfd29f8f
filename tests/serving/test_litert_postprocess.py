"""What the graph feeds `TFLite_Detection_PostProcess`: encodings the op decodes back into the
final boxes, and class columns numbered by class id."""

import numpy as np

from efgrnet_tf.serving.litert_postprocess import encode_for_postprocess, scores_by_class_id

VARIANCES = (0.1, 0.2)


def op_decode(box_encodings, anchors_yxhw, variances):
    """The op's own decoding (TFLite detection_postprocess.cc, DecodeCenterSizeBoxes) in NumPy:
    scales y, x = 1 / centre variance and h, w = 1 / size variance; yxyx out."""
    ty, tx, th, tw = np.moveaxis(np.asarray(box_encodings, np.float64), -1, 0)
    ya, xa, ha, wa = np.moveaxis(np.asarray(anchors_yxhw, np.float64), -1, 0)
    y_centre = ty * variances[0] * ha + ya
    x_centre = tx * variances[0] * wa + xa
    half_h = 0.5 * np.exp(th * variances[1]) * ha
    half_w = 0.5 * np.exp(tw * variances[1]) * wa
    return np.stack(
        [y_centre - half_h, x_centre - half_w, y_centre + half_h, x_centre + half_w], axis=-1
    )


def test_the_ops_decoding_gives_the_boxes_back():
    rng = np.random.default_rng(0)
    corners = rng.uniform(0.0, 1.0, (1, 50, 2, 2))
    boxes_yxyx = np.concatenate([corners.min(axis=2), corners.max(axis=2)], axis=-1)
    anchors_cxcywh = np.concatenate(
        [rng.uniform(0.0, 1.0, (50, 2)), rng.uniform(0.05, 0.8, (50, 2))], axis=-1
    )

    encodings, anchors_yxhw = encode_for_postprocess(
        boxes_yxyx.astype(np.float32), anchors_cxcywh.astype(np.float32), VARIANCES
    )

    np.testing.assert_allclose(anchors_yxhw.numpy(), anchors_cxcywh[:, [1, 0, 3, 2]], atol=1e-7)
    decoded = op_decode(encodings.numpy(), anchors_yxhw.numpy(), VARIANCES)
    np.testing.assert_allclose(decoded, boxes_yxyx, atol=1e-6)


def test_class_column_j_is_class_id_j_and_background_scores_zero():
    class_scores = np.random.default_rng(1).uniform(0.1, 1.0, (1, 7, 5)).astype(np.float32)

    columns = scores_by_class_id(class_scores, (1, 2, 3, 4)).numpy()

    np.testing.assert_array_equal(columns[..., 0], 0.0)
    np.testing.assert_array_equal(columns[..., 1:], class_scores[..., 1:])


def test_sparse_data_ids_put_each_class_at_its_id_and_zeros_between():
    class_scores = np.random.default_rng(2).uniform(0.1, 1.0, (1, 7, 4)).astype(np.float32)

    columns = scores_by_class_id(class_scores, (3, 7, 11)).numpy()

    assert columns.shape == (1, 7, 12)
    for training_class, data_id in enumerate((3, 7, 11), start=1):
        np.testing.assert_array_equal(columns[..., data_id], class_scores[..., training_class])
    np.testing.assert_array_equal(np.delete(columns, [3, 7, 11], axis=-1), 0.0)
