// Where one deformable-convolution tap samples the input (the four bilinear corners and their
// weights) and the derivatives of that sample. Shared by the CPU engine and the CUDA kernels so
// both follow one definition of the semantics of torchvision.ops.deform_conv2d
// (docs/design.md, "Deformable convolution").
#ifndef EFGRNET_CUSTOM_OPS_DEFORM_CONV_BILINEAR_SAMPLE_H_
#define EFGRNET_CUSTOM_OPS_DEFORM_CONV_BILINEAR_SAMPLE_H_

#include <cmath>
#include <cstdint>

#include "deform_conv_geometry.h"  // EFGRNET_HOST_DEVICE

namespace efgrnet {
namespace deform_conv {

// Corner order: 0 = (y0, x0), 1 = (y0, x0 + 1), 2 = (y0 + 1, x0), 3 = (y0 + 1, x0 + 1) with
// y0 = floor(y), x0 = floor(x).
struct BilinearSample {
  // Pixel index y * width + x of each corner, or -1 when that corner lies outside the image
  // (it then counts as 0).
  int64_t corner[4];
  float frac_y;  // y - y0
  float frac_x;  // x - x0
  // False when y <= -1, y >= height, x <= -1 or x >= width: the sampled value is then 0.
  // Coordinate gradients ignore this flag and use the corner validity only, as torchvision
  // does; the two differ only at exactly y == -1 or x == -1.
  bool inside;

  // Bilinear weight of corner q, regardless of its validity.
  EFGRNET_HOST_DEVICE float Weight(int q) const {
    const float wy = (q & 2) ? frac_y : 1.0f - frac_y;
    const float wx = (q & 1) ? frac_x : 1.0f - frac_x;
    return wy * wx;
  }

  // Given dot[q] = the sum over channels of grad_column * corner q's value (0 for an invalid
  // corner): the derivatives of the unmasked sample, dotted with grad_column, with respect to y
  // and x (torchvision's get_coordinate_weight: corner validity only) and to the mask.
  EFGRNET_HOST_DEVICE float GradY(const float dot[4]) const {
    return frac_x * (dot[3] - dot[1]) + (1.0f - frac_x) * (dot[2] - dot[0]);
  }
  EFGRNET_HOST_DEVICE float GradX(const float dot[4]) const {
    return frac_y * (dot[3] - dot[2]) + (1.0f - frac_y) * (dot[1] - dot[0]);
  }
  EFGRNET_HOST_DEVICE float GradMask(const float dot[4]) const {
    return inside ? Weight(0) * dot[0] + Weight(1) * dot[1] + Weight(2) * dot[2] + Weight(3) * dot[3]
                  : 0.0f;
  }
};

EFGRNET_HOST_DEVICE inline BilinearSample SampleAt(float y, float x, int64_t height,
                                                   int64_t width) {
  BilinearSample s;
  s.inside = y > -1.0f && y < static_cast<float>(height) && x > -1.0f &&
             x < static_cast<float>(width);
  // Outside [-1, height) x [-1, width) no corner is valid. Testing this before floor() also
  // keeps NaN and huge offsets away from the float -> integer conversion.
  if (!(y >= -1.0f && y < static_cast<float>(height) && x >= -1.0f &&
        x < static_cast<float>(width))) {
    s.corner[0] = s.corner[1] = s.corner[2] = s.corner[3] = -1;
    s.frac_y = s.frac_x = 0.0f;
    return s;
  }
  const float y_floor = floorf(y);
  const float x_floor = floorf(x);
  const int64_t y0 = static_cast<int64_t>(y_floor);
  const int64_t x0 = static_cast<int64_t>(x_floor);
  s.frac_y = y - y_floor;
  s.frac_x = x - x_floor;
  for (int q = 0; q < 4; ++q) {
    const int64_t yy = y0 + ((q & 2) ? 1 : 0);
    const int64_t xx = x0 + ((q & 1) ? 1 : 0);
    const bool valid = yy >= 0 && yy < height && xx >= 0 && xx < width;
    s.corner[q] = valid ? yy * width + xx : -1;
  }
  return s;
}

// The sample of tap `tap` (= i * kernel_w + j) of deformable group `group` for im2col row `row`
// (output pixel (n, oy, ox)): y = oy * stride_h - pad_h + i * dilation_h + dy, likewise x.
EFGRNET_HOST_DEVICE inline BilinearSample TapSample(const DeformConvGeometry& g,
                                                    const float* offset, int64_t row,
                                                    int64_t group, int64_t tap) {
  const int64_t oy = (row / g.out_w) % g.out_h;
  const int64_t ox = row % g.out_w;
  const int64_t i = tap / g.kernel_w;
  const int64_t j = tap % g.kernel_w;
  const float* dydx = offset + g.offset_index(row, group, tap);
  const float y = static_cast<float>(oy * g.stride_h - g.pad_h + i * g.dilation_h) + dydx[0];
  const float x = static_cast<float>(ox * g.stride_w - g.pad_w + j * g.dilation_w) + dydx[1];
  return SampleAt(y, x, g.in_h, g.in_w);
}

// The mask of (row, group, tap), 1 without a mask.
EFGRNET_HOST_DEVICE inline float TapMask(const DeformConvGeometry& g, const float* mask,
                                         int64_t row, int64_t group, int64_t tap) {
  return mask != nullptr ? mask[g.mask_index(row, group, tap)] : 1.0f;
}

// Writes grad_offset (dy, dx) and, when grad_mask is not nullptr, grad_mask of (row, group, tap)
// from the corner dot products of its sample `s` (see BilinearSample::GradY) and its mask.
EFGRNET_HOST_DEVICE inline void StoreCoordinateGrads(const DeformConvGeometry& g,
                                                     const BilinearSample& s, float mask,
                                                     const float dot[4], int64_t row,
                                                     int64_t group, int64_t tap,
                                                     float* grad_offset, float* grad_mask) {
  float* grad_dydx = grad_offset + g.offset_index(row, group, tap);
  grad_dydx[0] = mask * s.GradY(dot);
  grad_dydx[1] = mask * s.GradX(dot);
  if (grad_mask != nullptr) grad_mask[g.mask_index(row, group, tap)] = s.GradMask(dot);
}

}  // namespace deform_conv
}  // namespace efgrnet

#endif  // EFGRNET_CUSTOM_OPS_DEFORM_CONV_BILINEAR_SAMPLE_H_
