"""The authors' ResNet-101 EFGRNet state_dict keys → our variables (and torchvision's trunk keys).

Key names are those of the authors' `models/model_builder_resnet.SSD` around
`models/efrgnet_resnet.RefineResnet` (the `extractor`): torchvision's trunk (`conv1`, `bn1`,
`layer1..4`), `MSCF`, `Norm1..4`, `dsc1..3`, `extras`, `trans`, `smooth1`, then `arm_loc`,
`arm_conf`, `loc_offset_conv`, `dcn_convs`, `bn_layers`, `odm_loc`, `odm_conf`. BatchNorm's
`num_batches_tracked` counters have no variable and are not in the maps.
"""

from __future__ import annotations

from efgrnet_tf.interop.layouts import TensorTarget
from efgrnet_tf.interop.torch_modules import (
    AUTHORS_FGRM_SETTINGS,
    AUTHORS_SETTINGS,
    batch_norm_targets,
    check_authors_settings,
    conv_bn_targets,
    conv_targets,
    fgrm_targets,
    kernel_target,
    mscf_targets,
    objectness_fusion_targets,
    objectness_head_targets,
)

# Bottleneck blocks per torchvision stage `layer1..4` of ResNet-101.
RESNET101_BLOCKS = (3, 4, 23, 3)
NUM_LEVELS = 4
# The only ResNet-101 network the authors' code defines: torchvision trunk, full EFGRNet.
RESNET_SETTINGS = {
    **AUTHORS_SETTINGS,
    **AUTHORS_FGRM_SETTINGS,
    "model.backbone": "resnet101",
    "model.resnet_trunk": "torchvision",
    "model.cascade": True,
}


def torchvision_trunk_key_map(model) -> dict[str, TensorTarget]:
    """torchvision `resnet101` state_dict keys (without `fc.*`) → the torchvision trunk's variables.

    Args:
        model: a model built with `model.backbone` resnet101, `model.resnet_trunk` torchvision.
    Returns:
        `conv1.weight`, `bn1.{weight,bias,running_mean,running_var}`,
        `layer{s}.{b}.conv{1,2,3}.weight`, `layer{s}.{b}.bn{1,2,3}.*` and
        `layer{s}.0.downsample.{0.weight,1.*}` → their targets.
    """
    keys = {"conv1.weight": kernel_target(model.get_layer("conv1"))}
    keys.update(batch_norm_targets("bn1", model.get_layer("bn1")))
    for stage, num_blocks in enumerate(RESNET101_BLOCKS, 1):
        for block in range(num_blocks):
            prefix = f"layer{stage}.{block}"
            name = f"layer{stage}_{block}"
            for i in (1, 2, 3):
                keys[f"{prefix}.conv{i}.weight"] = kernel_target(model.get_layer(f"{name}_conv{i}"))
                keys.update(batch_norm_targets(f"{prefix}.bn{i}", model.get_layer(f"{name}_bn{i}")))
            if block == 0:
                conv = model.get_layer(f"{name}_downsample_conv")
                keys[f"{prefix}.downsample.0.weight"] = kernel_target(conv)
                bn = model.get_layer(f"{name}_downsample_bn")
                keys.update(batch_norm_targets(f"{prefix}.downsample.1", bn))
    return keys


def resnet_key_map(model, cfg) -> dict[str, TensorTarget]:
    """Every tensor of the authors' ResNet-101 EFGRNet state_dict → one variable of `model`.

    Args:
        model: `build_model(cfg)`.
        cfg: an `ExperimentConfig` of the full ResNet-101 model (`RESNET_SETTINGS`:
            torchvision trunk, feature enrichment and cascade on, FGRM offsets from B1's
            (dx, dy) with BN + ReLU): the only variant the authors' code defines.
    Returns:
        dict torch key (without DataParallel's `module.`) → `TensorTarget`.
    Raises:
        UnsupportedVariantError: `cfg` is not that variant (naming the fields).
    """
    check_resnet_variant(cfg)
    keys = {f"extractor.{k}": t for k, t in torchvision_trunk_key_map(model).items()}
    keys.update(_extractor_modules(model))
    for i in range(NUM_LEVELS):
        level = i + 1
        keys.update(
            objectness_head_targets(
                i,
                model.get_layer(f"objectness_box_head{level}"),
                model.get_layer(f"objectness_class_head{level}"),
            )
        )
        keys.update(fgrm_targets(i, model.get_layer(f"fgrm{level}")))
        for torch_name, ours in (("odm_loc", "box_head"), ("odm_conf", "class_head")):
            head = model.get_layer(f"{ours}{level}")
            keys.update(conv_bn_targets(f"{torch_name}.{i}.0.branch1", head.hidden1))
            keys.update(conv_bn_targets(f"{torch_name}.{i}.0.branch2", head.hidden2))
            keys.update(conv_targets(f"{torch_name}.{i}.1", head.predict))
    return keys


def check_resnet_variant(cfg) -> None:
    """Refuses a config of a ResNet-101 network the authors' code does not define.

    Raises:
        UnsupportedVariantError: naming every field that differs from `RESNET_SETTINGS`.
    """
    check_authors_settings(cfg, "ResNet-101 EFGRNet", RESNET_SETTINGS)


def _extractor_modules(model):
    """`extractor.` keys of the MSCF, objectness fusion, transitions, `smooth1` and extras."""
    keys = mscf_targets("extractor.MSCF", model.get_layer("mscf"))
    norms = [f"extractor.Norm{level}" for level in range(1, NUM_LEVELS + 1)]
    keys.update(objectness_fusion_targets(model, norms))
    transition1 = model.get_layer("transition1")
    for j, block in enumerate(transition1.blocks):
        for k, layer in enumerate(block):
            keys.update(conv_bn_targets(f"extractor.trans.0.{j}.single_branch.{k}", layer))
    keys.update(
        conv_bn_targets(f"extractor.trans.0.{len(transition1.blocks)}", transition1.project)
    )
    for level in (2, 3):
        project = model.get_layer(f"transition{level}").project
        keys.update(conv_bn_targets(f"extractor.trans.{level - 1}", project))
    keys.update(conv_targets("extractor.smooth1", model.get_layer("smooth1")))
    keys.update(conv_bn_targets("extractor.extras.0", model.get_layer("res6_1")))
    keys.update(conv_bn_targets("extractor.extras.1", model.get_layer("res6_2")))
    return keys
