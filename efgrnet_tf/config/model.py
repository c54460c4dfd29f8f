"""Model config: backbone, which EFGRNet modules are on, FGRM offset source, head sizes."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture switches; defaults are the paper's full VGG16 model.

    `num_classes` counts background (VOC: 21, COCO: 81).
    """

    backbone: Literal["vgg16", "resnet101"] = "vgg16"
    # Channel multiplier for the VGG16 trunk and the new modules (1.0 = paper); the small
    # `shapes_*` configs use < 1 so the model trains on a CPU.
    width_multiplier: float = 1.0
    num_classes: int = 21
    image_size: int = 320
    num_anchors_per_cell: int = 3
    # Ablations (paper Table 3): feature enrichment = MSCF + bottom-up objectness module;
    # cascade = FGRM and the final heads. Both off = SSD baseline.
    feature_enrichment: bool = True
    cascade: bool = True
    # Where the FGRM deformable-conv offsets come from (paper Table 5).
    fgrm_offsets: Literal["b1_dxdy", "b1_dhdw", "b1_all", "features", "none"] = "b1_dxdy"
    # Deviation switch: the authors' code keeps BN+ReLU on the 1x1 offset conv (offsets >= 0);
    # False gives the paper's Eq. 2 (plain 1x1 conv).
    fgrm_offset_bn_relu: bool = True
    fgrm_dilations: tuple[int, ...] = (5, 4, 3, 2)
    fgrm_channels: int = 256
    deform_conv_implementation: Literal["auto", "custom_op", "pure_tf"] = "auto"
    batch_norm_momentum: float = 0.99
    batch_norm_epsilon: float = 1e-5
    # Local weights file for the backbone (ImageNet); empty = random init. Never downloaded.
    pretrained_backbone: str = ""

    def __post_init__(self):
        if self.num_classes < 2:
            raise ValueError(
                f"num_classes must be >= 2 (background included), got {self.num_classes}"
            )
        if self.image_size <= 0 or self.image_size % 64:
            raise ValueError(f"image_size must be a positive multiple of 64, got {self.image_size}")
        if self.width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be > 0, got {self.width_multiplier}")
        if len(self.fgrm_dilations) != 4:
            raise ValueError(f"fgrm_dilations needs 4 values, got {self.fgrm_dilations}")
