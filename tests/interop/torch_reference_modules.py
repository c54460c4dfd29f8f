"""Torch modules shared by the PyTorch references of the authors' VGG16 and ResNet-101 EFGRNet
(our code, written from the paper and design.md; attribute names reproduce the authors' state_dict
keys): `BasicConv`, the MSCF parts, the bilinear deformable conv, the FGRM and heads' forward,
and the random weights and BatchNorm statistics both references are compared with.

The deformable conv is written out with bilinear sampling (design.md: Deformable convolution),
so no torchvision or mmdetection is needed.
"""

import torch
from torch import nn

NUM_ANCHORS = 3
DILATIONS = (5, 4, 3, 2)
OUTPUTS = ("objectness_deltas", "objectness_logits", "box_deltas", "class_logits")


class BasicConv(nn.Module):
    """conv (no bias) → BN → optional ReLU: keys `conv.weight`, `bn.*`."""

    def __init__(self, cin, cout, k, stride=1, dilation=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.relu else x


class Aspp(nn.Module):
    """MSCF's three dilated branches (1, 2, 4) and the 1x1 fuse (BN, no ReLU)."""

    def __init__(self, cin, cout):
        super().__init__()
        inner = cin // 4
        for k, rate in enumerate((1, 2, 4), 1):
            branch = nn.Sequential(BasicConv(cin, inner, 1), BasicConv(inner, inner, 3, 1, rate))
            setattr(self, f"branch_{k}", branch)
        self.branch_4 = BasicConv(3 * inner, cout, 1, relu=False)

    def forward(self, x):
        branches = [getattr(self, f"branch_{k}")(x) for k in (1, 2, 3)]
        return self.branch_4(torch.cat(branches, 1))


class Single(nn.Module):
    """A `single_branch` Sequential wrapper (the authors' MSCF and Downsample key prefix)."""

    def __init__(self, *layers):
        super().__init__()
        self.single_branch = nn.Sequential(*layers)

    def forward(self, x):
        return self.single_branch(x)


def mscf():
    """The MSCF on the thrice max-pooled image: keys `single_branch.{0,1,2}`, 512 channels."""
    return Single(BasicConv(3, 128, 3), BasicConv(128, 128, 1), Aspp(128, 512))


def deform_conv(x, offsets, weight, dilation):
    """3x3 deformable conv, stride 1, padding = dilation, one group, no bias.

    x `[N, C, H, W]`; offsets `[N, 18, H, W]` (tap k: channel 2k = dy, 2k + 1 = dx); weight
    `[O, C, 3, 3]`. Bilinear samples are 0 outside the image, corner by corner.
    """
    n, c, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype).view(1, 1, w)
    flat = x.reshape(n, c, h * w)
    out = 0
    for k in range(9):
        i, j = divmod(k, 3)
        y = ys - dilation + i * dilation + offsets[:, 2 * k]
        xx = xs - dilation + j * dilation + offsets[:, 2 * k + 1]
        y0, x0 = torch.floor(y), torch.floor(xx)
        sample = 0
        for cy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
            for cx, wx in ((x0, 1 - (xx - x0)), (x0 + 1, xx - x0)):
                inside = (cy >= 0) & (cy <= h - 1) & (cx >= 0) & (cx <= w - 1)
                index = (cy.clamp(0, h - 1) * w + cx.clamp(0, w - 1)).long().view(n, 1, -1)
                values = torch.gather(flat, 2, index.expand(n, c, -1)).view(n, c, h, w)
                sample = sample + values * (wy * wx * inside).unsqueeze(1)
        out = out + torch.einsum("nchw,oc->nohw", sample, weight[:, :, i, j])
    return out


class DeformConv(nn.Module):
    """The authors' DCNv1 layer: only a `weight` `[256, C, 3, 3]` (no bias)."""

    def __init__(self, cin, dilation):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(256, cin, 3, 3))
        self.dilation = dilation

    def forward(self, x, offsets):
        return deform_conv(x, offsets, self.weight, self.dilation)


def swap_dy_dx(offsets):
    """The offsets with each tap's (dy, dx) pair swapped: a mutation the comparison must catch."""
    return offsets.view(offsets.shape[0], 9, 2, *offsets.shape[2:]).flip(2).reshape(offsets.shape)


def refine_and_predict(model, sources, offset_mutation=None):
    """The authors' `SSD.forward` after the extractor (`model_builder_*.py`), anchors flattened.

    Args:
        model: has `arm_loc`, `arm_conf`, `loc_offset_conv`, `dcn_convs`, `bn_layers`,
            `odm_loc`, `odm_conf` (ModuleLists, one entry per level).
        sources: the extractor's four feature maps.
        offset_mutation: None, or a function applied to every level's offsets `[N, 18, h, w]`.
    Returns:
        dict: the four `OUTPUTS` `[N, A, k]`, plus `objectness_map` `[N, cells]` (Eq. 1's O)
        and `offsets` `[N, cells, 18]`, to check the test exercises what it means to.
    """
    outputs = {name: [] for name in (*OUTPUTS, "objectness_map", "offsets")}
    for i, x in enumerate(sources):
        deltas, logits = model.arm_loc[i](x), model.arm_conf[i](x)
        attention = torch.sigmoid(torch.amax(logits[:, 1::2], 1, keepdim=True))
        offsets = model.loc_offset_conv[i](torch.cat([deltas[:, 0::4], deltas[:, 1::4]], 1))
        if offset_mutation is not None:
            offsets = offset_mutation(offsets)
        refined = model.dcn_convs[i](x * attention + x, offsets)
        refined = torch.relu(model.bn_layers[i](refined))
        maps = (deltas, logits, model.odm_loc[i](refined), model.odm_conf[i](refined))
        for name, m in zip(OUTPUTS, maps, strict=True):
            outputs[name].append(per_anchor(m))
        outputs["objectness_map"].append(attention.flatten(1))
        outputs["offsets"].append(offsets.permute(0, 2, 3, 1).flatten(1, 2))
    return {name: torch.cat(values, 1) for name, values in outputs.items()}


def per_anchor(head_map):
    """`[N, A * k, h, w]` → `[N, h * w * A, k]` (our anchor order: row, column, anchor)."""
    n, channels = head_map.shape[:2]
    return head_map.permute(0, 2, 3, 1).reshape(n, -1, channels // NUM_ANCHORS)


def randomize(
    model, images, seed=0, offset_bn_scale=2.0, offset_bn_shift=1.0, objectness_logit_scale=1.0
):
    """Random weights and BN affine terms, then BN statistics of `images` (momentum 1).

    Convs are He-normal (fan_out); the offset convs' BN scale and shift are raised so the FGRM
    offsets are several pixels; `objectness_logit_scale` scales C1 (`arm_conf`) so the
    objectness map can span (0, 1) without saturating. Afterwards eval-mode outputs are well
    scaled at every depth.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | DeformConv):
                fan_out = module.weight.shape[0] * module.weight[0, 0].numel()
                std = (2.0 / fan_out) ** 0.5
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
            if isinstance(module, nn.Conv2d) and module.bias is not None:
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=generator))
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=generator))
                module.momentum = 1.0
        for offset_conv in getattr(model, "loc_offset_conv", ()):
            offset_conv.bn.weight.mul_(offset_bn_scale)
            offset_conv.bn.bias.add_(offset_bn_shift)
        for head in model.arm_conf:
            head.weight.mul_(objectness_logit_scale)
            head.bias.mul_(objectness_logit_scale)
        model.train()
        model(images)
        model.eval()
