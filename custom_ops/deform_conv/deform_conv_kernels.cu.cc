// CUDA kernels of the deformable convolution (see deform_conv_cuda.h). Plain CUDA: no
// TensorFlow headers and no cuBLAS, so the op library links only the static CUDA runtime.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "bilinear_sample.h"
#include "deform_conv_cuda.h"

namespace efgrnet {
namespace deform_conv {
namespace cuda {
namespace {

constexpr int kThreads = 256;
// Columns of one block of im2col rows (BlockRows); the GPU has the memory, this only bounds
// huge batches.
constexpr int64_t kBlockBytes = int64_t{256} << 20;

unsigned int GridFor(int64_t count) {
  return static_cast<unsigned int>(std::min<int64_t>((count + kThreads - 1) / kThreads, 1 << 30));
}

const char* LastError() {
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

#define EFGRNET_RETURN_IF_CUDA_ERROR()          \
  do {                                          \
    if (const char* error = LastError()) {      \
      return error;                             \
    }                                           \
  } while (0)

// Entry `index` of the column block that starts at im2col row `row0`: its row, tap, input
// channel and deformable group.
struct ColumnEntry {
  int64_t row;
  int64_t tap;
  int64_t c;
  int64_t group;
};

__device__ ColumnEntry EntryAt(const DeformConvGeometry& g, int64_t row0, int64_t index) {
  ColumnEntry e;
  e.row = row0 + index / g.column_width();
  e.tap = (index % g.column_width()) / g.channels;
  e.c = index % g.channels;
  e.group = e.c / g.group_channels();
  return e;
}

// columns[r, tap * C + c] for rows [row0, row0 + rows); one thread per entry, channels fastest
// so that neighbouring threads read neighbouring input channels.
__global__ void Im2colKernel(DeformConvGeometry g, const float* input, const float* offset,
                             const float* mask, int64_t row0, int64_t rows, float* columns) {
  for (int64_t index = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
       index < rows * g.column_width(); index += int64_t{blockDim.x} * gridDim.x) {
    const ColumnEntry e = EntryAt(g, row0, index);
    const BilinearSample s = TapSample(g, offset, e.row, e.group, e.tap);
    float value = 0.0f;
    if (s.inside) {
      const float* image = input + g.image_index(e.row) + e.c;
      for (int q = 0; q < 4; ++q) {
        if (s.corner[q] >= 0) value += s.Weight(q) * image[s.corner[q] * g.channels];
      }
      value *= TapMask(g, mask, e.row, e.group, e.tap);
    }
    columns[index] = value;
  }
}

// grad_input[corner, c] += weight * mask * grad_columns[r, tap * C + c] (atomic: corners of
// different rows coincide).
__global__ void Col2imKernel(DeformConvGeometry g, const float* offset, const float* mask,
                             const float* grad_columns, int64_t row0, int64_t rows,
                             float* grad_input) {
  for (int64_t index = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
       index < rows * g.column_width(); index += int64_t{blockDim.x} * gridDim.x) {
    const ColumnEntry e = EntryAt(g, row0, index);
    const BilinearSample s = TapSample(g, offset, e.row, e.group, e.tap);
    if (!s.inside) continue;
    const float grad = grad_columns[index] * TapMask(g, mask, e.row, e.group, e.tap);
    float* image = grad_input + g.image_index(e.row) + e.c;
    for (int q = 0; q < 4; ++q) {
      if (s.corner[q] >= 0) atomicAdd(image + s.corner[q] * g.channels, s.Weight(q) * grad);
    }
  }
}

// grad_offset and grad_mask: one warp per (row, group, tap) reduces the four corner dot
// products over the group's channels, then StoreCoordinateGrads (bilinear_sample.h).
__global__ void CoordinateGradKernel(DeformConvGeometry g, const float* input,
                                     const float* offset, const float* mask,
                                     const float* grad_columns, int64_t row0, int64_t rows,
                                     float* grad_offset, float* grad_mask) {
  const int lane = threadIdx.x % 32;
  const int64_t items = rows * g.groups * g.taps();
  for (int64_t item = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) / 32; item < items;
       item += int64_t{blockDim.x} * gridDim.x / 32) {
    const int64_t row = row0 + item / (g.groups * g.taps());
    const int64_t group = (item / g.taps()) % g.groups;
    const int64_t tap = item % g.taps();
    const BilinearSample s = TapSample(g, offset, row, group, tap);
    const int64_t c0 = group * g.group_channels();
    const float* image = input + g.image_index(row) + c0;
    const float* grad = grad_columns + (row - row0) * g.column_width() + tap * g.channels + c0;
    float dot[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t c = lane; c < g.group_channels(); c += 32) {
      const float gc = grad[c];
      for (int q = 0; q < 4; ++q) {
        if (s.corner[q] >= 0) dot[q] += gc * image[s.corner[q] * g.channels + c];
      }
    }
    for (int q = 0; q < 4; ++q) {
      for (int shift = 16; shift > 0; shift /= 2) {
        dot[q] += __shfl_down_sync(0xffffffffu, dot[q], shift);
      }
    }
    if (lane == 0) {
      StoreCoordinateGrads(g, s, TapMask(g, mask, row, group, tap), dot, row, group, tap,
                           grad_offset, grad_mask);
    }
  }
}

// C[m, n] (+)= sum_k A(m, k) * B(k, n) with A(m, k) = a[m * a_m + k * a_k] and
// B(k, n) = b[k * b_k + n * b_n]; C row-major [M, N]. Shared-memory tiles of kTile x kTile.
constexpr int kTile = 16;

__global__ void GemmKernel(int64_t m_size, int64_t n_size, int64_t k_size, const float* a,
                           int64_t a_m, int64_t a_k, const float* b, int64_t b_k, int64_t b_n,
                           float* c, bool accumulate) {
  __shared__ float a_tile[kTile][kTile + 1];
  __shared__ float b_tile[kTile][kTile + 1];
  // Rows on grid x, whose limit is 2^31 - 1 blocks (grid y stops at 65535).
  const int64_t m = blockIdx.x * int64_t{kTile} + threadIdx.y;
  const int64_t n = blockIdx.y * int64_t{kTile} + threadIdx.x;
  float sum = 0.0f;
  for (int64_t k0 = 0; k0 < k_size; k0 += kTile) {
    const int64_t a_col = k0 + threadIdx.x;
    a_tile[threadIdx.y][threadIdx.x] =
        (m < m_size && a_col < k_size) ? a[m * a_m + a_col * a_k] : 0.0f;
    const int64_t b_row = k0 + threadIdx.y;
    b_tile[threadIdx.y][threadIdx.x] =
        (b_row < k_size && n < n_size) ? b[b_row * b_k + n * b_n] : 0.0f;
    __syncthreads();
    for (int k = 0; k < kTile; ++k) sum += a_tile[threadIdx.y][k] * b_tile[k][threadIdx.x];
    __syncthreads();
  }
  if (m < m_size && n < n_size) {
    float* out = c + m * n_size + n;
    *out = accumulate ? *out + sum : sum;
  }
}

void Gemm(int64_t m_size, int64_t n_size, int64_t k_size, const float* a, int64_t a_m,
          int64_t a_k, const float* b, int64_t b_k, int64_t b_n, float* c, bool accumulate,
          cudaStream_t stream) {
  const dim3 threads(kTile, kTile);
  const dim3 blocks(static_cast<unsigned int>((m_size + kTile - 1) / kTile),
                    static_cast<unsigned int>((n_size + kTile - 1) / kTile));
  GemmKernel<<<blocks, threads, 0, stream>>>(m_size, n_size, k_size, a, a_m, a_k, b, b_k, b_n,
                                             c, accumulate);
}

// Element-wise dtype conversion through the CUDA types' own conversions: half/bfloat16 → float
// is exact; float → half/bfloat16 rounds to nearest even.
template <typename Source, typename Destination>
__global__ void ConvertKernel(const Source* source, Destination* destination, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{blockDim.x} * gridDim.x) {
    destination[i] = static_cast<Destination>(source[i]);
  }
}

}  // namespace

int64_t ForwardScratchFloats(const DeformConvGeometry& g) {
  return BlockRows(g, kBlockBytes) * g.column_width();
}

int64_t BackwardScratchFloats(const DeformConvGeometry& g) {
  return 2 * BlockRows(g, kBlockBytes) * g.column_width();
}

const char* Forward(const DeformConvGeometry& g, const ForwardTensors& t, void* stream_handle) {
  const cudaStream_t stream = static_cast<cudaStream_t>(stream_handle);
  const int64_t width = g.column_width();
  const int64_t block = BlockRows(g, kBlockBytes);
  for (int64_t row0 = 0; row0 < g.rows(); row0 += block) {
    const int64_t rows = std::min(block, g.rows() - row0);
    Im2colKernel<<<GridFor(rows * width), kThreads, 0, stream>>>(g, t.input, t.offset, t.mask,
                                                                 row0, rows, t.scratch);
    // output[rows, O] = columns[rows, K] . kernel[K, O]
    Gemm(rows, g.out_channels, width, t.scratch, width, 1, t.kernel, g.out_channels, 1,
         t.output + row0 * g.out_channels, /*accumulate=*/false, stream);
    EFGRNET_RETURN_IF_CUDA_ERROR();
  }
  return nullptr;
}

const char* Backward(const DeformConvGeometry& g, const BackwardTensors& t,
                     void* stream_handle) {
  const cudaStream_t stream = static_cast<cudaStream_t>(stream_handle);
  const int64_t width = g.column_width();
  const int64_t out = g.out_channels;
  const int64_t block = BlockRows(g, kBlockBytes);
  float* columns = t.scratch;
  float* grad_columns = t.scratch + block * width;
  cudaMemsetAsync(t.grad_input, 0, g.batch * g.in_h * g.in_w * g.channels * sizeof(float),
                  stream);
  for (int64_t row0 = 0; row0 < g.rows(); row0 += block) {
    const int64_t rows = std::min(block, g.rows() - row0);
    const float* grad_output = t.grad_output + row0 * out;
    Im2colKernel<<<GridFor(rows * width), kThreads, 0, stream>>>(g, t.input, t.offset, t.mask,
                                                                 row0, rows, columns);
    // grad_kernel[K, O] (+)= columns^T[K, rows] . grad_output[rows, O]
    Gemm(width, out, rows, columns, 1, width, grad_output, out, 1, t.grad_kernel,
         /*accumulate=*/row0 > 0, stream);
    // grad_columns[rows, K] = grad_output[rows, O] . kernel^T[O, K]
    Gemm(rows, width, out, grad_output, out, 1, t.kernel, 1, out, grad_columns,
         /*accumulate=*/false, stream);
    const int64_t warps = rows * g.groups * g.taps();
    CoordinateGradKernel<<<GridFor(warps * 32), kThreads, 0, stream>>>(
        g, t.input, t.offset, t.mask, grad_columns, row0, rows, t.grad_offset, t.grad_mask);
    Col2imKernel<<<GridFor(rows * width), kThreads, 0, stream>>>(g, t.offset, t.mask,
                                                                 grad_columns, row0, rows,
                                                                 t.grad_input);
    EFGRNET_RETURN_IF_CUDA_ERROR();
  }
  return nullptr;
}

const char* SetZero(void* data, int64_t bytes, void* stream_handle) {
  if (bytes == 0) return nullptr;
  const cudaError_t error =
      cudaMemsetAsync(data, 0, bytes, static_cast<cudaStream_t>(stream_handle));
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

const char* ToFloat(HalfType type, const void* source, float* destination, int64_t count,
                    void* stream_handle) {
  const cudaStream_t stream = static_cast<cudaStream_t>(stream_handle);
  if (count == 0) return nullptr;
  if (type == HalfType::kFloat16) {
    ConvertKernel<<<GridFor(count), kThreads, 0, stream>>>(
        static_cast<const __half*>(source), destination, count);
  } else {
    ConvertKernel<<<GridFor(count), kThreads, 0, stream>>>(
        static_cast<const __nv_bfloat16*>(source), destination, count);
  }
  return LastError();
}

const char* FromFloat(HalfType type, const float* source, void* destination, int64_t count,
                      void* stream_handle) {
  const cudaStream_t stream = static_cast<cudaStream_t>(stream_handle);
  if (count == 0) return nullptr;
  if (type == HalfType::kFloat16) {
    ConvertKernel<<<GridFor(count), kThreads, 0, stream>>>(
        source, static_cast<__half*>(destination), count);
  } else {
    ConvertKernel<<<GridFor(count), kThreads, 0, stream>>>(
        source, static_cast<__nv_bfloat16*>(destination), count);
  }
  return LastError();
}

}  // namespace cuda
}  // namespace deform_conv
}  // namespace efgrnet
