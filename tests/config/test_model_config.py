"""ModelConfig validation: every rejected value names the field."""

import pytest

from efgrnet_tf.config import ModelConfig


def test_defaults_are_the_papers_full_vgg16_model_with_classes_from_the_data():
    cfg = ModelConfig()
    assert cfg.num_classes == 0
    assert (cfg.backbone, cfg.feature_enrichment, cfg.cascade) == ("vgg16", True, True)
    assert (cfg.fgrm_offsets, cfg.fgrm_offset_bn_relu) == ("b1_dxdy", True)
    assert (cfg.fgrm_dilations, cfg.fgrm_channels, cfg.vgg_batch_norm) == ((5, 4, 3, 2), 256, False)


@pytest.mark.parametrize(
    "fields, field_name",
    [
        (dict(num_classes=1), "num_classes"),
        (dict(num_classes=-1), "num_classes"),
        (dict(image_size=320 + 32), "image_size"),
        (dict(width_multiplier=0.0), "width_multiplier"),
        (dict(fgrm_dilations=(5, 4, 3)), "fgrm_dilations"),
        (dict(fgrm_dilations=(5, 4, 0, 2)), "fgrm_dilations"),
        (dict(fgrm_channels=0), "fgrm_channels"),
        (dict(batch_norm_momentum=1.0), "batch_norm_momentum"),
        (dict(batch_norm_epsilon=0.0), "batch_norm_epsilon"),
        (dict(backbone="resnet101", vgg_batch_norm=True), "vgg_batch_norm"),
        (dict(pretrained_backbone="w.h5", width_multiplier=0.5), "pretrained_backbone"),
        (dict(pretrained_backbone="w.h5", vgg_batch_norm=True), "pretrained_backbone"),
        (dict(pretrained_backbone="w.h5", input_scale=0.5), "pretrained_backbone"),
        (dict(input_scale=0.0), "input_scale"),
        (dict(backbone="resnet101", pretrained_backbone="w.h5"), "resnet_trunk"),
        (
            dict(backbone="resnet101", resnet_trunk="keras_v1", pretrained_backbone="w.pth"),
            "resnet_trunk",
        ),
        (dict(head_kernel_stddev=-0.1), "head_kernel_stddev"),
    ],
)
def test_invalid_values_are_rejected(fields, field_name):
    with pytest.raises(ValueError, match=field_name):
        ModelConfig(**fields)
