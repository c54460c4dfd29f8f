"""Model config: backbone, which EFGRNet modules are on, FGRM offset source, head sizes."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture switches; defaults are the paper's full VGG16 model.

    `num_classes` counts background (VOC: 21, COCO: 81); 0 (the default) takes it from the
    data set (`efgrnet_tf.data.classes.resolve_classes`).
    """

    backbone: Literal["vgg16", "resnet101"] = "vgg16"
    # ResNet-101 trunk (`backbones/resnet101.py`): "torchvision" = the authors' (stride 2 on the
    # 3x3 conv, torchvision ImageNet `.pth` weights); "keras_v1" = **deviation**: Keras's
    # Caffe-style v1 (stride 2 on the first 1x1 conv, Keras ImageNet `.h5` weights).
    resnet_trunk: Literal["torchvision", "keras_v1"] = "torchvision"
    # Channel multiplier for the backbone trunk and the new modules (1.0 = paper); the small
    # `shapes_*` configs use < 1 so the model trains on a CPU. Head outputs (anchors x 4,
    # anchors x classes) and the 18 FGRM offset channels are never scaled.
    width_multiplier: float = 1.0
    num_classes: int = 0
    image_size: int = 320
    # Ablations (paper Table 3): feature enrichment = MSCF + bottom-up objectness module;
    # cascade = FGRM and the final heads. Both off = SSD baseline.
    feature_enrichment: bool = True
    cascade: bool = True
    # Where the FGRM deformable-conv offsets come from (paper Table 5): B1's (dx, dy), B1's
    # (dw, dh), all four B1 components, a 3x3 conv on the FGRM features (standard DCN), or no
    # deformation at all (plain dilated conv).
    fgrm_offsets: Literal["b1_dxdy", "b1_dhdw", "b1_all", "features", "none"] = "b1_dxdy"
    # Deviation switch: the authors' code keeps BN+ReLU on the 1x1 offset conv (offsets >= 0);
    # False gives the paper's Eq. 2 (plain 1x1 conv with bias).
    fgrm_offset_bn_relu: bool = True
    # Dilation (= padding) of the FGRM 3x3 conv at strides 8, 16, 32, 64.
    fgrm_dilations: tuple[int, ...] = (5, 4, 3, 2)
    # Output channels of the FGRM deformable conv (scaled by `width_multiplier`).
    fgrm_channels: int = 256
    deform_conv_implementation: Literal["auto", "custom_op", "pure_tf", "crop_and_resize"] = "auto"
    # Keras dtype policy the model is built under. Both mixed policies keep float32 variables,
    # head outputs, losses, box decoding and NMS, and compute the convs in bfloat16 (fast on
    # CPUs with AMX or AVX512-BF16; no loss scaling) or float16 (GPUs; loss scaling when
    # training). `bfloat16` (evaluate, export, predict only) also stores the weights in
    # bfloat16, rounded once at load: the same outputs as mixed_bfloat16, faster on the CPU.
    # `train.mixed_precision: true` is the older spelling of `mixed_float16`.
    precision: Literal["float32", "mixed_bfloat16", "bfloat16", "mixed_float16"] = "float32"
    # Not in the paper: the model multiplies its (mean-subtracted, 0-255 scale) input by this
    # first. 1.0 for ImageNet weights, which expect that scale; from-scratch configs use ~1/58 so
    # the first layers start with unit-scale inputs and gradients.
    input_scale: float = 1.0
    # Initialisation of the heads' final convs: 0 = He-normal fan_out (the authors'); > 0 = the
    # std of a zero-mean normal, which starts the loss near its floor instead of at ~100.
    head_kernel_stddev: float = 0.0
    batch_norm_momentum: float = 0.99
    batch_norm_epsilon: float = 1e-5
    # Not in the paper: BatchNorm after every VGG16 conv (conv1_1..conv5_3, fc6, fc7), so a
    # narrow VGG trains from scratch (the `shapes_*` configs). Incompatible with ImageNet weights.
    vgg_batch_norm: bool = False
    # Local weights file for the backbone (`modeling/pretrained.py`); empty = random init, never
    # downloaded. VGG16: Keras's ImageNet VGG16 (include_top=True, `.h5`/`.weights.h5`, reduced
    # to fc6/fc7 on load) or SSD's `vgg16_reducedfc.pth`. ResNet-101: torchvision's ImageNet
    # `resnet101` `.pth` (resnet_trunk torchvision) or Keras's ResNet101 (include_top=False)
    # `.h5`/`.weights.h5` (resnet_trunk keras_v1).
    pretrained_backbone: str = ""

    def __post_init__(self):
        if self.num_classes < 0 or self.num_classes == 1:
            raise ValueError(
                "num_classes must be >= 2 (background included) or 0 (from the data), got "
                f"{self.num_classes}"
            )
        if self.image_size <= 0 or self.image_size % 64:
            raise ValueError(f"image_size must be a positive multiple of 64, got {self.image_size}")
        if self.width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be > 0, got {self.width_multiplier}")
        if len(self.fgrm_dilations) != 4 or any(d <= 0 for d in self.fgrm_dilations):
            raise ValueError(f"fgrm_dilations needs 4 values > 0, got {self.fgrm_dilations}")
        if self.fgrm_channels <= 0:
            raise ValueError(f"fgrm_channels must be > 0, got {self.fgrm_channels}")
        if not 0.0 <= self.batch_norm_momentum < 1.0:
            raise ValueError(
                f"batch_norm_momentum must be in [0, 1), got {self.batch_norm_momentum}"
            )
        if self.batch_norm_epsilon <= 0:
            raise ValueError(f"batch_norm_epsilon must be > 0, got {self.batch_norm_epsilon}")
        if self.vgg_batch_norm and self.backbone != "vgg16":
            raise ValueError("vgg_batch_norm applies only to backbone vgg16")
        if self.pretrained_backbone and self.width_multiplier != 1.0:
            raise ValueError(
                "pretrained_backbone needs width_multiplier 1.0 (ImageNet weights have the "
                f"paper's widths), got {self.width_multiplier}"
            )
        if self.input_scale <= 0:
            raise ValueError(f"input_scale must be > 0, got {self.input_scale}")
        if self.head_kernel_stddev < 0:
            raise ValueError(f"head_kernel_stddev must be >= 0, got {self.head_kernel_stddev}")
        if self.pretrained_backbone and self.input_scale != 1.0:
            raise ValueError(
                "pretrained_backbone needs input_scale 1.0 (ImageNet weights expect 0-255 "
                f"inputs), got {self.input_scale}"
            )
        if self.pretrained_backbone and self.vgg_batch_norm:
            raise ValueError("pretrained_backbone cannot be combined with vgg_batch_norm")
        if self.pretrained_backbone and self.backbone == "resnet101":
            torch_file = self.pretrained_backbone.endswith(".pth")
            if torch_file != (self.resnet_trunk == "torchvision"):
                raise ValueError(
                    f"model.pretrained_backbone {self.pretrained_backbone!r} does not fit "
                    f"model.resnet_trunk {self.resnet_trunk!r}: the torchvision trunk takes "
                    "torchvision's resnet101 .pth, the keras_v1 trunk Keras's ResNet101 .h5"
                )
