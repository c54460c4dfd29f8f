// Where one deformable-convolution tap samples the input: the four bilinear corners and their
// weights. Shared by the CPU engine and the CUDA kernels so both follow one definition of the
// SPEC semantics (those of torchvision.ops.deform_conv2d).
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

}  // namespace deform_conv
}  // namespace efgrnet

#endif  // EFGRNET_CUSTOM_OPS_DEFORM_CONV_BILINEAR_SAMPLE_H_
