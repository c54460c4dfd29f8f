"""The targets of the torch modules the authors' networks are built from, and the settings their
networks fix.

`conv_targets` (an `nn.Conv2d` with bias), `conv_bn_targets` (their `BasicConv`: a conv without
bias, then BatchNorm), `batch_norm_targets` (`nn.BatchNorm2d`), `mscf_targets` and
`objectness_fusion_targets` pair a module's state_dict keys with our layers' variables.
`check_authors_settings` refuses a config whose model would compute another function than the
authors' code even where every tensor fits.
"""

from __future__ import annotations

from efgrnet_tf.config.boxes import AnchorConfig
from efgrnet_tf.config.data import DataConfig
from efgrnet_tf.interop.layouts import BATCH_NORM_NAMES, Layout, TensorTarget
from efgrnet_tf.user_errors import UserInputError

# What the authors' code fixes for every network it defines (their `models/model_builder_*.py`,
# `layers/functions/prior_box.py`, `data/data_augment.py`), as dotted config fields.
AUTHORS_SETTINGS = {
    "model.input_scale": 1.0,
    "model.feature_enrichment": True,
    "model.batch_norm_epsilon": 1e-5,
    "anchors.min_sizes": AnchorConfig.min_sizes,
    "anchors.aspect_ratios": AnchorConfig.aspect_ratios,
    "anchors.clip": AnchorConfig.clip,
    "anchors.variances": AnchorConfig.variances,
    "data.mean_bgr": DataConfig.mean_bgr,
}
# ... and for the FGRM, when the network has one (`cascade`, their `REFINE`).
AUTHORS_FGRM_SETTINGS = {
    "model.fgrm_offsets": "b1_dxdy",
    "model.fgrm_offset_bn_relu": True,
    "model.fgrm_dilations": (5, 4, 3, 2),
}


class UnsupportedVariantError(UserInputError, ValueError):
    """The config asks for a network the authors' checkpoints do not hold."""


def check_authors_settings(cfg, network, required):
    """Refuses `cfg` unless every dotted field of `required` has its value.

    Args:
        cfg: an `ExperimentConfig`.
        network: what the checkpoint holds, for the message (e.g. "VGG16 EFGRNet").
        required: dict dotted field → the value the authors' network fixes.
    Raises:
        UnsupportedVariantError: naming every differing field, its value and the needed one.
    """
    wrong = []
    for dotted, expected in required.items():
        value = cfg
        for name in dotted.split("."):
            value = getattr(value, name)
        if value != expected:
            wrong.append(f"{dotted}={value!r} (need {expected!r})")
    if wrong:
        raise UnsupportedVariantError(
            f"the authors' {network} checkpoints hold another network than config "
            f"{cfg.name!r} describes: " + ", ".join(wrong)
        )


def kernel_target(conv):
    """A torch conv `weight` (OIHW) → the Keras conv's `kernel` (HWIO)."""
    return TensorTarget(conv.kernel, Layout.CONV_KERNEL)


def conv_targets(prefix, conv):
    """A torch `Conv2d` with bias: `prefix.weight`, `prefix.bias`."""
    return {f"{prefix}.weight": kernel_target(conv), f"{prefix}.bias": TensorTarget(conv.bias)}


def batch_norm_targets(prefix, bn):
    """A torch `BatchNorm2d`: `prefix.{weight,bias,running_mean,running_var}`."""
    return {
        f"{prefix}.{torch_name}": TensorTarget(getattr(bn, keras_name))
        for torch_name, keras_name in BATCH_NORM_NAMES.items()
    }


def conv_bn_targets(prefix, layer):
    """The authors' `BasicConv` (conv without bias + BN) ↔ our `ConvBN`."""
    return {
        f"{prefix}.conv.weight": kernel_target(layer.conv),
        **batch_norm_targets(f"{prefix}.bn", layer.bn),
    }


def mscf_targets(prefix, mscf):
    """The authors' `MSCF` (`single_branch`: 3x3, 1x1, then `aspp_module` with `branch_1..3`
    and the fuse `branch_4`) ↔ our `MultiScaleContextualFeatures`."""
    branch = f"{prefix}.single_branch"
    keys = {
        **conv_bn_targets(f"{branch}.0", mscf.stem_3x3),
        **conv_bn_targets(f"{branch}.1", mscf.stem_1x1),
    }
    for k, (first, second) in enumerate(mscf.branches, 1):
        keys.update(conv_bn_targets(f"{branch}.2.branch_{k}.0", first))
        keys.update(conv_bn_targets(f"{branch}.2.branch_{k}.1", second))
    keys.update(conv_bn_targets(f"{branch}.2.branch_4", mscf.fuse))
    return keys


def objectness_fusion_targets(model, norm_prefixes):
    """The authors' `Norm1..4` (keys under `norm_prefixes`, one per level) and `dsc1..3`
    (`extractor.dsc{k}.single_branch.0`) ↔ our `objectness_fusion1..4` norm and downsample."""
    keys = {}
    for level, norm_prefix in enumerate(norm_prefixes, 1):
        fusion = model.get_layer(f"objectness_fusion{level}")
        keys.update(conv_bn_targets(norm_prefix, fusion.norm))
        if level > 1:
            downsample = f"extractor.dsc{level - 1}.single_branch.0"
            keys.update(conv_bn_targets(downsample, fusion.downsample))
    return keys


def objectness_head_targets(index, box_head, class_head):
    """The authors' `arm_loc.{index}` and `arm_conf.{index}` ↔ the final convs of one level's
    objectness box and class heads (without the cascade, its single-stage heads)."""
    return {
        **conv_targets(f"arm_loc.{index}", box_head.predict),
        **conv_targets(f"arm_conf.{index}", class_head.predict),
    }


def fgrm_targets(index, fgrm):
    """The authors' `loc_offset_conv.{index}` (a `BasicConv`), `dcn_convs.{index}` and
    `bn_layers.{index}` ↔ one level's FGRM offset ConvBN, deformable conv and BatchNorm."""
    return {
        **conv_bn_targets(f"loc_offset_conv.{index}", fgrm.offset_conv),
        f"dcn_convs.{index}.weight": kernel_target(fgrm.conv),
        **batch_norm_targets(f"bn_layers.{index}", fgrm.bn),
    }
