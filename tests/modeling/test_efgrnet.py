"""build_model: output contract (design.md), anchor counts, every variant, mixed precision,
saving, the batch-norm settings, and backbones as `BackboneSpec` entries of `BACKBONES`."""

import dataclasses
import io
import typing
from math import ceil

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiny_models import tiny_config

import efgrnet_tf
from efgrnet_tf.boxes.anchors import num_anchors
from efgrnet_tf.config import ModelConfig, config_from_dict
from efgrnet_tf.modeling.backbones import BACKBONES
from efgrnet_tf.modeling.backbones.spec import BackboneSpec
from efgrnet_tf.modeling.conv_bn import ConvBN

CASCADE_KEYS = {"box_deltas", "class_logits", "objectness_deltas", "objectness_logits"}
SINGLE_STAGE_KEYS = {"box_deltas", "class_logits"}


def _images(cfg, batch=1, seed=0):
    size = cfg.model.image_size
    rng = np.random.default_rng(seed)
    return rng.normal(scale=50.0, size=(batch, size, size, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "backbone, image_size, expected",
    [
        ("vgg16", 320, 6375),
        ("vgg16", 512, 16320),
        ("resnet101", 320, 6375),
        ("resnet101", 512, 16320),
    ],
)
def test_anchor_counts_at_the_paper_sizes(backbone, image_size, expected):
    # Narrow widths (1/16) keep the full-size forward pass cheap; the layout is the paper's.
    cfg = tiny_config(0.0625, image_size, num_classes=21, backbone=backbone)
    model = efgrnet_tf.build_model(cfg)
    outputs = model(_images(cfg), training=False)
    assert expected == num_anchors(cfg.anchors, (image_size, image_size))
    assert {k: tuple(v.shape) for k, v in outputs.items()} == {
        "box_deltas": (1, expected, 4),
        "class_logits": (1, expected, 21),
        "objectness_deltas": (1, expected, 4),
        "objectness_logits": (1, expected, 2),
    }


@pytest.mark.parametrize(
    "fields",
    [
        dict(feature_enrichment=False, cascade=False),
        dict(feature_enrichment=True, cascade=False),
        dict(feature_enrichment=False, cascade=True),
        dict(fgrm_offsets="b1_dhdw"),
        dict(fgrm_offsets="b1_all"),
        dict(fgrm_offsets="features"),
        dict(fgrm_offsets="none"),
        dict(fgrm_offset_bn_relu=False),
        dict(vgg_batch_norm=True),
        dict(backbone="resnet101", feature_enrichment=False, cascade=False),
        dict(backbone="resnet101", feature_enrichment=True, cascade=False),
        dict(backbone="resnet101", feature_enrichment=False, cascade=True),
    ],
    ids=lambda fields: "-".join(f"{k}={v}" for k, v in fields.items()),
)
def test_every_variant_builds_and_runs(fields):
    cfg = tiny_config(**fields)
    model = efgrnet_tf.build_model(cfg)
    outputs = model(_images(cfg, batch=2), training=True)
    expected_keys = CASCADE_KEYS if cfg.model.cascade else SINGLE_STAGE_KEYS
    assert set(outputs) == expected_keys
    count = num_anchors(cfg.anchors, (64, 64))
    for key, value in outputs.items():
        assert value.dtype == "float32"
        assert value.shape[:2] == (2, count), key
        assert np.all(np.isfinite(value)), key
    assert outputs["class_logits"].shape[-1] == cfg.model.num_classes


def test_ablations_add_the_expected_modules():
    def layer_names(**fields):
        return {layer.name for layer in efgrnet_tf.build_model(tiny_config(**fields)).layers}

    ssd = layer_names(feature_enrichment=False, cascade=False)
    full = layer_names()
    assert not any(n.startswith(("mscf", "objectness", "fgrm")) for n in ssd)
    assert {"mscf", "objectness_fusion4", "fgrm4", "objectness_box_head4"} <= full
    assert {"conv4_3_norm", "fc7_norm", "conv9_2"} <= ssd & full


def test_model_input_and_summary():
    model = efgrnet_tf.build_model(tiny_config())
    assert tuple(model.input.shape) == (None, 64, 64, 3)
    summary = io.StringIO()
    model.summary(print_fn=lambda line, **_: summary.write(line + "\n"))
    assert "fgrm1" in summary.getvalue() and "mscf" in summary.getvalue()


@pytest.mark.parametrize("backbone", ["vgg16", "resnet101"])
def test_mixed_float16_outputs_are_float32(backbone):
    cfg = tiny_config(backbone=backbone, precision="mixed_float16")
    model = efgrnet_tf.build_model(cfg)
    # Training mode: an untrained ResNet's inference-mode activations double at every
    # residual add (fresh BN statistics) and would overflow float16 whatever the heads do.
    outputs = model(_images(cfg, batch=2), training=True)
    assert model.get_layer("fgrm1").compute_dtype == "float16"
    for key, value in outputs.items():
        assert value.dtype == "float32", key
        assert np.all(np.isfinite(value)), key


@pytest.mark.parametrize("backbone", ["vgg16", "resnet101"])
def test_saved_model_file_reloads_with_identical_outputs(tmp_path, backbone):
    cfg = tiny_config(backbone=backbone)
    model = efgrnet_tf.build_model(cfg)
    images = _images(cfg)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    expected = model(images, training=False)
    result = restored(images, training=False)
    assert set(result) == set(expected)
    for key in expected:
        np.testing.assert_array_equal(result[key], expected[key], err_msg=key)


def test_model_rebuilds_from_its_config():
    model = efgrnet_tf.build_model(tiny_config())
    clone = keras.Model.from_config(model.get_config())
    assert clone.count_params() == model.count_params()
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]


def test_input_scale_multiplies_the_images_before_every_module():
    scaled = efgrnet_tf.build_model(tiny_config(input_scale=0.25))
    plain = efgrnet_tf.build_model(tiny_config())
    plain.set_weights(scaled.get_weights())
    images = _images(tiny_config(), batch=2)
    expected = plain(images * 0.25, training=False)
    result = scaled(images, training=False)
    for key, value in expected.items():
        np.testing.assert_allclose(result[key], value, rtol=1e-4, atol=1e-4)
    assert scaled.get_layer("input_scale").scale == 0.25


def test_each_cell_holds_one_anchor_per_aspect_ratio():
    cfg = tiny_config()
    square_only = dataclasses.replace(
        cfg, anchors=dataclasses.replace(cfg.anchors, aspect_ratios=(1.0,))
    )
    outputs = efgrnet_tf.build_model(square_only)(_images(cfg), training=False)
    cells = sum(ceil(64 / step) ** 2 for step in cfg.anchors.steps)
    for key, value in outputs.items():
        assert value.shape[1] == cells, key


def test_missing_pretrained_file_is_an_error_naming_it(tmp_path):
    missing = str(tmp_path / "no_such_vgg16.h5")
    cfg = config_from_dict(
        {"model": {"image_size": 64, "num_classes": 21, "pretrained_backbone": missing}}
    )
    with pytest.raises(FileNotFoundError, match=r"no_such_vgg16\.h5"):
        efgrnet_tf.build_model(cfg)


def test_batch_norm_settings_reach_every_batch_norm_layer():
    cfg = tiny_config(backbone="resnet101", batch_norm_momentum=0.9, batch_norm_epsilon=1e-3)
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, sync_batch_norm=True))
    model = efgrnet_tf.build_model(cfg)
    batch_norms = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(batch_norms) > 100
    assert all(layer.synchronized and layer.momentum == 0.9 for layer in batch_norms)
    # The trunk's own layers keep torchvision's epsilon (its ImageNet statistics); every other
    # BN, the res6 extras and the nested ones of the EFGRNet modules included, the config's.
    trunk = {
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        and layer.name.startswith(("bn1", "layer"))
    }
    assert len(trunk) == 104
    for layer in batch_norms:
        assert layer.epsilon == (1e-5 if layer.name in trunk else 1e-3), layer.name


def test_backbone_names_of_the_config_are_the_backbones_dict():
    names = typing.get_args(typing.get_type_hints(ModelConfig)["backbone"])
    assert set(names) == set(BACKBONES)


def _toy_sources(images, model_cfg, batch_norm):
    """Four ConvBN(3x3, stride 8 then 2) outputs: 8, 16, 24, 32 channels at strides 8..64."""
    x = ConvBN(8, 3, 8, name="toy1", batch_norm=batch_norm)(images)
    sources = [x]
    for level in range(2, 5):
        x = ConvBN(8 * level, 3, 2, name=f"toy{level}", batch_norm=batch_norm)(x)
        sources.append(x)
    return sources


def test_a_new_backbone_is_one_spec_in_the_backbones_dict(monkeypatch):
    toy = BackboneSpec(
        build_sources=_toy_sources,
        load_torch_weights=None,
        load_keras_weights=None,
        fusion_channels=32,
        pre_activation_levels=(2,),
        transition_residual_blocks=(1,),
        final_head_hidden_layers=1,
        final_head_hidden_channels=64,
    )
    monkeypatch.setitem(BACKBONES, "toy", toy)
    cfg = tiny_config()
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, backbone="toy"))
    model = efgrnet_tf.build_model(cfg)
    outputs = model(_images(cfg, batch=2), training=False)
    count = num_anchors(cfg.anchors, (64, 64))
    assert {k: tuple(v.shape) for k, v in outputs.items()} == {
        "box_deltas": (2, count, 4),
        "class_logits": (2, count, 5),
        "objectness_deltas": (2, count, 4),
        "objectness_logits": (2, count, 2),
    }
    assert model.name == "efgrnet_toy_64"
    # At width 1/8: Norm layers 32 / 8 wide; transition1 back to toy1's 8 with one bottleneck.
    fusions = [model.get_layer(f"objectness_fusion{level}") for level in range(1, 5)]
    assert [f.norm_channels for f in fusions] == [4] * 4
    assert [f.pre_activation for f in fusions] == [False, True, False, False]
    assert len(model.get_layer("transition1").blocks) == 1
    assert model.get_layer("transition1").output_channels == 8
    assert not any(layer.name.startswith("transition2") for layer in model.layers)
    assert model.get_layer("fgrm1").conv.kernel.shape[2] == 8
    assert model.get_layer("fgrm2").conv.kernel.shape[2] == 4
    head = model.get_layer("class_head3")
    assert [layer.filters for layer in head.hidden] == [8]


def test_new_layers_are_initialised_like_the_authors_code():
    model = efgrnet_tf.build_model(tiny_config())
    layers = list(model._flatten_layers(include_self=False, recursive=True))
    convs = [layer for layer in layers if hasattr(layer, "kernel_initializer")]
    assert len(convs) > 40
    for layer in convs:
        config = keras.initializers.serialize(layer.kernel_initializer)["config"]
        assert (config["scale"], config["mode"], config["distribution"]) == (
            2.0,
            "fan_out",
            "untruncated_normal",
        ), layer.name
        if getattr(layer, "bias", None) is not None:
            np.testing.assert_array_equal(layer.bias.numpy(), 0.0, err_msg=layer.name)
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            np.testing.assert_array_equal(layer.gamma.numpy(), 1.0, err_msg=layer.name)
            np.testing.assert_array_equal(layer.beta.numpy(), 0.0, err_msg=layer.name)


@pytest.mark.parametrize(
    "backbone, fgrm_inputs, hidden_layers",
    [("vgg16", [512, 1024, 256, 256], 0), ("resnet101", [512, 1024, 512, 256], 2)],
)
def test_fgrm_and_final_head_widths_follow_the_authors_code(backbone, fgrm_inputs, hidden_layers):
    # At width 1/8: the channel counts of the authors' code divided by 8.
    model = efgrnet_tf.build_model(tiny_config(backbone=backbone))
    kernels = [model.get_layer(f"fgrm{level}").conv.kernel.shape for level in range(1, 5)]
    assert kernels == [(3, 3, c // 8, 256 // 8) for c in fgrm_inputs]
    dilations = [model.get_layer(f"fgrm{level}").conv.dilation_rate for level in range(1, 5)]
    assert dilations == [(d, d) for d in (5, 4, 3, 2)]
    for level in range(1, 5):
        for head in (f"box_head{level}", f"class_head{level}"):
            assert len(model.get_layer(head).hidden) == hidden_layers


def test_final_head_loss_reaches_the_objectness_heads():
    # No stop-gradient (paper Sec. 3.2): the final outputs depend on B1 (offsets) and C1
    # (objectness map).
    cfg = tiny_config()
    model = efgrnet_tf.build_model(cfg)
    images = _images(cfg, batch=2)
    with tf.GradientTape() as tape:
        outputs = model(images, training=True)
        loss = tf.reduce_sum(outputs["box_deltas"] ** 2) + tf.reduce_sum(
            outputs["class_logits"] ** 2
        )
    heads = [
        model.get_layer(f"objectness_{kind}_head1").predict.kernel for kind in ("box", "class")
    ]
    for kernel, gradient in zip(heads, tape.gradient(loss, heads), strict=True):
        assert gradient is not None and np.abs(gradient.numpy()).sum() > 0, kernel.path
