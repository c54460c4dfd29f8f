// The float32 CPU computation of the deformable convolution, forward and backward, free of
// TensorFlow types.
//
// The engine is compiled once per instruction set (baseline, AVX2+FMA, AVX-512) and
// SelectCpuEngine() picks the best one the running CPU supports: the GEMMs dominate the cost
// and Eigen's are 3x (AVX2) to 5x (AVX-512) faster than with baseline x86-64 flags, while the
// library must still load on any x86-64 (or non-x86) machine.
//
// Algorithm, per block of im2col rows (rows = output pixels (n, oy, ox)):
//   forward:  columns[rows, kh*kw*C] = bilinear samples (x mask)
//             output[rows, O]        = columns . kernel[kh*kw*C, O]
//   backward: columns recomputed as above
//             grad_kernel           += columns^T . grad_output
//             grad_columns           = grad_output . kernel^T
//             grad_offset, grad_mask = per (row, group, tap) dot products over the channels
//             grad_input            += scatter of grad_columns to the 4 corners (col2im)
// Blocks of kBlockBytes bound the memory and every step runs on the caller's thread pool.
#ifndef EFGRNET_CUSTOM_OPS_DEFORM_CONV_CPU_ENGINE_H_
#define EFGRNET_CUSTOM_OPS_DEFORM_CONV_CPU_ENGINE_H_

#include <cstdint>
#include <functional>

#include "deform_conv_buffers.h"
#include "deform_conv_geometry.h"

namespace efgrnet {
namespace deform_conv {

// Threads the engine may use; the op kernels implement it over TensorFlow's intra-op pool.
class WorkerPool {
 public:
  virtual ~WorkerPool() = default;
  virtual int NumThreads() const = 0;
  // Index of the calling thread in the pool, or -1 when the caller is not a pool thread.
  virtual int CurrentThreadId() const = 0;
  virtual void Schedule(std::function<void()> task) = 0;
};

// Columns of one block of im2col rows (BlockRows): large enough that the GEMM runs near peak,
// small enough to stay bounded for big batches.
constexpr int64_t kBlockBytes = 16 << 20;

int64_t ForwardScratchFloats(const DeformConvGeometry& geometry);
int64_t BackwardScratchFloats(const DeformConvGeometry& geometry);
int64_t ZeroRowFloats(const DeformConvGeometry& geometry);

struct CpuEngine {
  const char* isa;  // "baseline", "avx2" or "avx512"
  void (*forward)(const DeformConvGeometry&, const ForwardTensors&, WorkerPool&);
  void (*backward)(const DeformConvGeometry&, const BackwardTensors&, WorkerPool&);
  // The sampling halves alone, for the bfloat16 ops whose GEMMs are TensorFlow's MatMul.
  // `input` is the image as bfloat16 bits (sampled in float32 without a float32 copy); columns
  // are bfloat16 bits [rows, column_width] of all rows, computed in float32 and rounded once.
  // im2col_bfloat16 reads input, offset and mask; col2im_bfloat16 reads them and grad_columns
  // and writes grad_input, grad_offset and grad_mask. The tensors' input, kernel, output and
  // other gradients are unused; both take ZeroRowFloats(geometry) floats of scratch.
  void (*im2col_bfloat16)(const DeformConvGeometry&, const ForwardTensors&,
                          const uint16_t* input, uint16_t* columns, WorkerPool&);
  void (*col2im_bfloat16)(const DeformConvGeometry&, const BackwardTensors&,
                          const uint16_t* input, const uint16_t* grad_columns, WorkerPool&);
};

// The fastest variant the running CPU supports, or the one named by the environment variable
// EFGRNET_CPU_ENGINE when the CPU supports it (decided once per process).
const CpuEngine& SelectCpuEngine();

}  // namespace deform_conv
}  // namespace efgrnet

#endif  // EFGRNET_CUSTOM_OPS_DEFORM_CONV_CPU_ENGINE_H_
