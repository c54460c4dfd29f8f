"""The authors' ResNet-101 EFGRNet state_dict keys → our variables (and torchvision's trunk keys).

Key names are those of the authors' `models/model_builder_resnet.SSD` around
`models/efrgnet_resnet.RefineResnet` (the `extractor`): torchvision's trunk (`conv1`, `bn1`,
`layer1..4`), `MSCF`, `Norm1..4`, `dsc1..3`, `extras`, `trans`, `smooth1`, then `arm_loc`,
`arm_conf`, `loc_offset_conv`, `dcn_convs`, `bn_layers`, `odm_loc`, `odm_conf`. BatchNorm's
`num_batches_tracked` counters have no variable and are not in the maps.
"""

from __future__ import annotations

from efgrnet_tf.interop.layouts import BATCH_NORM_NAMES, Layout, TensorTarget

# Bottleneck blocks per torchvision stage `layer1..4` of ResNet-101.
RESNET101_BLOCKS = (3, 4, 23, 3)
NUM_LEVELS = 4


def torchvision_trunk_key_map(model) -> dict[str, TensorTarget]:
    """torchvision `resnet101` state_dict keys (without `fc.*`) → the torchvision trunk's variables.

    Args:
        model: a model built with `model.backbone` resnet101, `model.resnet_trunk` torchvision.
    Returns:
        `conv1.weight`, `bn1.{weight,bias,running_mean,running_var}`,
        `layer{s}.{b}.conv{1,2,3}.weight`, `layer{s}.{b}.bn{1,2,3}.*` and
        `layer{s}.0.downsample.{0.weight,1.*}` → their targets.
    """
    keys = {"conv1.weight": _kernel(model.get_layer("conv1"))}
    keys.update(_batch_norm("bn1", model.get_layer("bn1")))
    for stage, num_blocks in enumerate(RESNET101_BLOCKS, 1):
        for block in range(num_blocks):
            prefix = f"layer{stage}.{block}"
            name = f"layer{stage}_{block}"
            for i in (1, 2, 3):
                keys[f"{prefix}.conv{i}.weight"] = _kernel(model.get_layer(f"{name}_conv{i}"))
                keys.update(_batch_norm(f"{prefix}.bn{i}", model.get_layer(f"{name}_bn{i}")))
            if block == 0:
                conv = model.get_layer(f"{name}_downsample_conv")
                keys[f"{prefix}.downsample.0.weight"] = _kernel(conv)
                bn = model.get_layer(f"{name}_downsample_bn")
                keys.update(_batch_norm(f"{prefix}.downsample.1", bn))
    return keys


def resnet_key_map(model, cfg) -> dict[str, TensorTarget]:
    """Every tensor of the authors' ResNet-101 EFGRNet state_dict → one variable of `model`.

    Args:
        model: `build_model(cfg)`.
        cfg: an `ExperimentConfig` of the full ResNet-101 model (torchvision trunk, feature
            enrichment and cascade on, FGRM offsets from B1's (dx, dy) with BN + ReLU): the
            only variant the authors' code defines.
    Returns:
        dict torch key (without DataParallel's `module.`) → `TensorTarget`.
    Raises:
        ValueError: `cfg.model` is not that variant (naming the field).
    """
    _check_variant(cfg.model)
    keys = {f"extractor.{k}": t for k, t in torchvision_trunk_key_map(model).items()}
    keys.update(_extractor_modules(model))
    for i in range(NUM_LEVELS):
        level = i + 1
        keys.update(_conv(f"arm_loc.{i}", model.get_layer(f"objectness_box_head{level}").predict))
        keys.update(
            _conv(f"arm_conf.{i}", model.get_layer(f"objectness_class_head{level}").predict)
        )
        fgrm = model.get_layer(f"fgrm{level}")
        keys.update(_conv_bn(f"loc_offset_conv.{i}", fgrm.offset_conv))
        keys[f"dcn_convs.{i}.weight"] = TensorTarget(fgrm.conv.kernel, Layout.CONV_KERNEL)
        keys.update(_batch_norm(f"bn_layers.{i}", fgrm.bn))
        for torch_name, ours in (("odm_loc", "box_head"), ("odm_conf", "class_head")):
            head = model.get_layer(f"{ours}{level}")
            keys.update(_conv_bn(f"{torch_name}.{i}.0.branch1", head.hidden1))
            keys.update(_conv_bn(f"{torch_name}.{i}.0.branch2", head.hidden2))
            keys.update(_conv(f"{torch_name}.{i}.1", head.predict))
    return keys


def _extractor_modules(model):
    """`extractor.` keys of the MSCF, objectness fusion, transitions, `smooth1` and extras."""
    keys = {}
    mscf = model.get_layer("mscf")
    branch = "extractor.MSCF.single_branch"
    keys.update(_conv_bn(f"{branch}.0", mscf.stem_3x3))
    keys.update(_conv_bn(f"{branch}.1", mscf.stem_1x1))
    for k, (first, second) in enumerate(mscf.branches, 1):
        keys.update(_conv_bn(f"{branch}.2.branch_{k}.0", first))
        keys.update(_conv_bn(f"{branch}.2.branch_{k}.1", second))
    keys.update(_conv_bn(f"{branch}.2.branch_4", mscf.fuse))
    for level in range(1, NUM_LEVELS + 1):
        fusion = model.get_layer(f"objectness_fusion{level}")
        keys.update(_conv_bn(f"extractor.Norm{level}", fusion.norm))
        if level > 1:
            keys.update(_conv_bn(f"extractor.dsc{level - 1}.single_branch.0", fusion.downsample))
    transition1 = model.get_layer("transition1")
    for j, block in enumerate(transition1.blocks):
        for k, layer in enumerate(block):
            keys.update(_conv_bn(f"extractor.trans.0.{j}.single_branch.{k}", layer))
    keys.update(_conv_bn(f"extractor.trans.0.{len(transition1.blocks)}", transition1.project))
    for level in (2, 3):
        project = model.get_layer(f"transition{level}").project
        keys.update(_conv_bn(f"extractor.trans.{level - 1}", project))
    keys.update(_conv("extractor.smooth1", model.get_layer("smooth1")))
    keys.update(_conv_bn("extractor.extras.0", model.get_layer("res6_1")))
    keys.update(_conv_bn("extractor.extras.1", model.get_layer("res6_2")))
    return keys


def _check_variant(m):
    expected = dict(
        backbone="resnet101",
        resnet_trunk="torchvision",
        feature_enrichment=True,
        cascade=True,
        fgrm_offsets="b1_dxdy",
        fgrm_offset_bn_relu=True,
    )
    wrong = [f"model.{k}={getattr(m, k)!r} (need {v!r})" for k, v in expected.items()
             if getattr(m, k) != v]  # fmt: skip
    if wrong:
        raise ValueError(
            "the authors' ResNet-101 checkpoint holds only the full torchvision-trunk model; "
            + ", ".join(wrong)
        )


def _kernel(conv):
    return TensorTarget(conv.kernel, Layout.CONV_KERNEL)


def _conv(prefix, conv):
    """A torch Conv2d with bias: `prefix.weight`, `prefix.bias`."""
    return {f"{prefix}.weight": _kernel(conv), f"{prefix}.bias": TensorTarget(conv.bias)}


def _batch_norm(prefix, bn):
    return {
        f"{prefix}.{torch_name}": TensorTarget(getattr(bn, keras_name))
        for torch_name, keras_name in BATCH_NORM_NAMES.items()
    }


def _conv_bn(prefix, layer):
    """The authors' `BasicConv` (conv without bias + BN) ↔ our `ConvBN`."""
    return {f"{prefix}.conv.weight": _kernel(layer.conv), **_batch_norm(f"{prefix}.bn", layer.bn)}
