"""`build_model(cfg)`: the EFGRNet detector (and its ablations) as a functional Keras model.

Data flow for the full model (SPEC: Network; strides 8, 16, 32, 64):

    images ─ backbone ─ sources x1..x4 ─┐
       └─ MSCF ─────────────────────── objectness module (FeatureFusion) ─ s1..s4
    s_l ─ B1_l, C1_l (objectness heads)
    s_l, B1_l, C1_l ─ FGRM_l ─ B2_l, C2_l (final heads)

VGG16 sources are BN(conv4_3), BN(fc7) (BN without ReLU, the authors' replacement of SSD's
L2Norm), conv8_2, conv9_2; ResNet-101 sources are res3, res4, res5 (reduced to 512 by
`smooth1`), res6, and its fused features (256 channels) pass `TransitionBlock`s (to
512/1024/512, s4 stays 256) before the heads, and its final heads (cascade on) have two hidden
1x1 ConvBN(512) layers.
Switches: `feature_enrichment` off → the heads read the sources directly; `cascade` off → one
pair of heads B (A x 4), C (A x num_classes) and no FGRM (both off = SSD baseline).
"""

import keras

from efgrnet_tf.modeling.backbones.resnet101 import resnet101_features
from efgrnet_tf.modeling.backbones.vgg16 import vgg16_features
from efgrnet_tf.modeling.conv_bn import scaled_channels
from efgrnet_tf.modeling.fgrm import FeatureGuidedRefinement
from efgrnet_tf.modeling.heads import ConcatenateAnchors, PredictionHead
from efgrnet_tf.modeling.mscf import MultiScaleContextualFeatures
from efgrnet_tf.modeling.objectness_module import FeatureFusion
from efgrnet_tf.modeling.precision import dtype_policy_scope
from efgrnet_tf.modeling.pretrained import load_pretrained_backbone
from efgrnet_tf.modeling.transition import TransitionBlock

# ResNet-101 variant: channels of the final heads' two hidden 1x1 ConvBN layers.
RESNET_FINAL_HEAD_CHANNELS = 512


def build_model(cfg):
    """Builds the detector described by `cfg` (an `ExperimentConfig`).

    Args:
        cfg: uses `cfg.model` (architecture; `precision` is the dtype policy of every layer,
            whatever Keras' global policy), `cfg.train.sync_batch_norm` (every BN layer's
            `synchronized`) and `cfg.anchors.num_anchors_per_cell` (checked against the model's
            levels when the config loads, `efgrnet_tf.config.checks`).
    Returns:
        `keras.Model` mapping float32 images `[B, S, S, 3]` (S = `cfg.model.image_size`,
        preprocessed: BGR, mean subtracted) to a dict of float32 tensors (under every
        precision), A = 3 x (number of
        cells over the four levels), anchors ordered level → row → column → aspect ratio:
        `box_deltas` `[B, A, 4]` (dx, dy, dw, dh), `class_logits` `[B, A, num_classes]`, and
        with `cfg.model.cascade` also `objectness_deltas` `[B, A, 4]` and `objectness_logits`
        `[B, A, 2]` (background, foreground).
    Raises:
        ValueError: `cfg.model.num_classes` is still 0 (not resolved from the data).
        FileNotFoundError: `cfg.model.pretrained_backbone` names a missing file.
    """
    m = cfg.model
    if m.num_classes == 0:
        raise ValueError(
            "model.num_classes is 0 (take it from the data): resolve it first with "
            "efgrnet_tf.data.classes.resolve_classes(cfg)"
        )
    with dtype_policy_scope(m.precision):
        model = _build_layers(m, cfg.train.sync_batch_norm, cfg.anchors.num_anchors_per_cell)
    if m.pretrained_backbone:
        load_pretrained_backbone(model, m)
    return model


def _build_layers(m, sync_batch_norm, num_anchors):
    """The functional model of `build_model`, its layers taking the current dtype policy."""
    bn_args = dict(
        batch_norm_momentum=m.batch_norm_momentum,
        batch_norm_epsilon=m.batch_norm_epsilon,
        synchronized_batch_norm=sync_batch_norm,
    )
    images = keras.Input((m.image_size, m.image_size, 3), name="images")
    inputs = images
    if m.input_scale != 1.0:
        images = keras.layers.Rescaling(m.input_scale, name="input_scale")(images)
    if m.backbone == "vgg16":
        features = vgg16_features(
            images, width_multiplier=m.width_multiplier, batch_norm=m.vgg_batch_norm, **bn_args
        )
        bn = dict(
            momentum=m.batch_norm_momentum,
            epsilon=m.batch_norm_epsilon,
            synchronized=sync_batch_norm,
        )
        sources = [
            keras.layers.BatchNormalization(name="conv4_3_norm", **bn)(features["conv4_3"]),
            keras.layers.BatchNormalization(name="fc7_norm", **bn)(features["fc7"]),
            features["conv8_2"],
            features["conv9_2"],
        ]
    else:
        features = resnet101_features(
            images, trunk=m.resnet_trunk, width_multiplier=m.width_multiplier, **bn_args
        )
        sources = [features[name] for name in ("res3", "res4", "res5", "res6")]
    if m.feature_enrichment:
        sources = _enrich(images, sources, m, bn_args)

    head = dict(kernel_stddev=m.head_kernel_stddev)
    outputs = {}
    if m.cascade:
        objectness_deltas, objectness_logits, refined = [], [], []
        for level, (x, dilation) in enumerate(zip(sources, m.fgrm_dilations, strict=True), 1):
            deltas = PredictionHead(num_anchors, 4, name=f"objectness_box_head{level}", **head)(x)
            logits = PredictionHead(num_anchors, 2, name=f"objectness_class_head{level}", **head)(x)
            refined.append(
                FeatureGuidedRefinement(
                    scaled_channels(m.fgrm_channels, m.width_multiplier),
                    dilation,
                    num_anchors=num_anchors,
                    offset_source=m.fgrm_offsets,
                    offset_bn_relu=m.fgrm_offset_bn_relu,
                    implementation=m.deform_conv_implementation,
                    name=f"fgrm{level}",
                    **bn_args,
                )(x, deltas, logits)
            )
            objectness_deltas.append(deltas)
            objectness_logits.append(logits)
        outputs["objectness_deltas"] = ConcatenateAnchors(4, name="objectness_deltas")(
            objectness_deltas
        )
        outputs["objectness_logits"] = ConcatenateAnchors(2, name="objectness_logits")(
            objectness_logits
        )
        sources = refined
    hidden = dict(
        hidden_channels=scaled_channels(RESNET_FINAL_HEAD_CHANNELS, m.width_multiplier), **head
    )
    hidden["num_hidden_layers"] = 2 if m.cascade and m.backbone == "resnet101" else 0
    box_maps = [
        PredictionHead(num_anchors, 4, name=f"box_head{level}", **hidden, **bn_args)(x)
        for level, x in enumerate(sources, 1)
    ]
    class_maps = [
        PredictionHead(num_anchors, m.num_classes, name=f"class_head{level}", **hidden, **bn_args)(
            x
        )
        for level, x in enumerate(sources, 1)
    ]
    outputs["box_deltas"] = ConcatenateAnchors(4, name="box_deltas")(box_maps)
    outputs["class_logits"] = ConcatenateAnchors(m.num_classes, name="class_logits")(class_maps)
    return keras.Model(inputs, outputs, name=_model_name(m))


def _enrich(images, sources, m, bn_args):
    """MSCF + the bottom-up objectness module: the four fused features s1..s4 (ResNet: after
    the transition blocks)."""
    guide = MultiScaleContextualFeatures(sources[0].shape[-1], name="mscf", **bn_args)(images)
    vgg = m.backbone == "vgg16"
    fused = []
    for level, source in enumerate(sources, 1):
        channels = source.shape[-1]
        fusion = FeatureFusion(
            channels if vgg else scaled_channels(256, m.width_multiplier),
            downsample_channels=None if level == 1 else channels,
            pre_activation=vgg and level <= 2,
            name=f"objectness_fusion{level}",
            **bn_args,
        )
        guide = fusion(source, guide)
        fused.append(guide)
    if vgg:
        return fused
    # ResNet-101: widen s1..s3 back to their sources' channels (512/1024/512); s4 stays 256.
    widened = []
    for level, (x, source, blocks) in enumerate(
        zip(fused[:3], sources[:3], (2, 0, 0), strict=True), 1
    ):
        transition = TransitionBlock(source.shape[-1], blocks, name=f"transition{level}", **bn_args)
        widened.append(transition(x))
    return [*widened, fused[3]]


def _model_name(m):
    if m.feature_enrichment and m.cascade:
        kind = "efgrnet"
    elif m.feature_enrichment:
        kind = "ssd_fe"
    elif m.cascade:
        kind = "ssd_cascade"
    else:
        kind = "ssd"
    return f"{kind}_{m.backbone}_{m.image_size}"
