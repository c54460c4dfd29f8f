// Sizes of one deformable convolution, shared by the op registration, the CPU engine and the
// CUDA kernels. Plain C++ (no TensorFlow, no Eigen) so that every translation unit can include
// it, whichever compiler and instruction set it is built with.
//
// Layouts (docs/design.md, "Deformable convolution"; those of torchvision.ops.deform_conv2d):
//   input   [batch, in_h, in_w, channels]                          NHWC
//   kernel  [kernel_h, kernel_w, channels, out_channels]           HWIO
//   offset  [batch, out_h, out_w, 2 * groups * kernel_h * kernel_w]  (dy, dx) per (group, tap)
//   mask    [batch, out_h, out_w, groups * kernel_h * kernel_w]      only when use_mask
//   output  [batch, out_h, out_w, out_channels]                    NHWC
// Offset channel g * 2 * taps + 2 * k is dy and + 1 is dx for tap k = i * kernel_w + j; mask
// channel g * taps + k. Input channel c belongs to group c / (channels / groups).
#ifndef EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_GEOMETRY_H_
#define EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_GEOMETRY_H_

#include <algorithm>
#include <cstdint>

// Functions used by both host code and CUDA kernels.
#ifdef __CUDACC__
#define EFGRNET_HOST_DEVICE __host__ __device__
#else
#define EFGRNET_HOST_DEVICE
#endif

namespace efgrnet {
namespace deform_conv {

// Output extent along one axis: (size + 2 * pad - (dilation * (kernel - 1) + 1)) / stride + 1,
// floored; a result <= 0 means the (padded) input is smaller than the dilated kernel.
inline int64_t OutputSize(int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                          int64_t dilation) {
  const int64_t span = size + 2 * pad - (dilation * (kernel - 1) + 1);
  // Floor division: C++ truncates towards zero, which would turn -1 / 2 into 0 -> size 1.
  return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
}

struct DeformConvGeometry {
  int64_t batch = 0;
  int64_t in_h = 0;
  int64_t in_w = 0;
  int64_t channels = 0;
  int64_t out_h = 0;
  int64_t out_w = 0;
  int64_t out_channels = 0;
  int64_t kernel_h = 0;
  int64_t kernel_w = 0;
  int64_t stride_h = 1;
  int64_t stride_w = 1;
  int64_t pad_h = 0;
  int64_t pad_w = 0;
  int64_t dilation_h = 1;
  int64_t dilation_w = 1;
  int64_t groups = 1;
  bool use_mask = false;

  EFGRNET_HOST_DEVICE int64_t taps() const { return kernel_h * kernel_w; }
  EFGRNET_HOST_DEVICE int64_t group_channels() const { return channels / groups; }
  // Rows of the im2col matrix: one per output pixel, (n, oy, ox) in row-major order.
  EFGRNET_HOST_DEVICE int64_t rows() const { return batch * out_h * out_w; }
  // Columns of the im2col matrix, ordered (i, j, c) like the HWIO kernel viewed as
  // [kernel_h * kernel_w * channels, out_channels].
  EFGRNET_HOST_DEVICE int64_t column_width() const { return taps() * channels; }
  EFGRNET_HOST_DEVICE int64_t offset_channels() const { return 2 * groups * taps(); }
  EFGRNET_HOST_DEVICE int64_t mask_channels() const { return groups * taps(); }

  // Element index of the dy offset of (group, tap) for im2col row `row` (dx follows it).
  EFGRNET_HOST_DEVICE int64_t offset_index(int64_t row, int64_t group, int64_t tap) const {
    return row * offset_channels() + group * 2 * taps() + 2 * tap;
  }
  // Element index of the mask of (group, tap) for im2col row `row`.
  EFGRNET_HOST_DEVICE int64_t mask_index(int64_t row, int64_t group, int64_t tap) const {
    return row * mask_channels() + group * taps() + tap;
  }
  // Element index of pixel (0, 0), channel 0 of the input image that im2col row `row` reads.
  EFGRNET_HOST_DEVICE int64_t image_index(int64_t row) const {
    return row / (out_h * out_w) * in_h * in_w * channels;
  }
};

// Rows of the im2col matrix an engine processes at once: about `block_bytes` of float32
// columns, at least one row. Each engine chooses its `block_bytes`.
inline int64_t BlockRows(const DeformConvGeometry& geometry, int64_t block_bytes) {
  const int64_t row_bytes = std::max<int64_t>(1, geometry.column_width()) * 4;
  return std::max<int64_t>(1, std::min(geometry.rows(), block_bytes / row_bytes));
}

}  // namespace deform_conv
}  // namespace efgrnet

#endif  // EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_GEOMETRY_H_
