// CUDA implementation of the deformable convolution: launchers callable from host code compiled
// by g++ (deform_conv_gpu_kernels.cc). Free of TensorFlow headers, so nvcc compiles the kernels
// without TensorFlow's GPU build configuration.
//
// Same algorithm as the CPU engine (cpu_engine.h): per block of im2col rows, bilinear im2col,
// then GEMMs; col2im scatters with atomicAdd. Every launcher enqueues on `stream` (a
// cudaStream_t) and returns nullptr, or CUDA's message for the first launch error.
#ifndef EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_CUDA_H_
#define EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_CUDA_H_

#include <cstdint>

#include "deform_conv_buffers.h"
#include "deform_conv_geometry.h"

namespace efgrnet {
namespace deform_conv {
namespace cuda {

// Scratch (device floats) the forward and backward launchers need for `geometry`.
int64_t ForwardScratchFloats(const DeformConvGeometry& geometry);
int64_t BackwardScratchFloats(const DeformConvGeometry& geometry);

const char* Forward(const DeformConvGeometry& geometry, const ForwardTensors& tensors,
                    void* stream);
const char* Backward(const DeformConvGeometry& geometry, const BackwardTensors& tensors,
                     void* stream);

// Fills `bytes` bytes of device memory with zeros.
const char* SetZero(void* data, int64_t bytes, void* stream);

// Element type conversions for half and bfloat16 tensors, which are computed in float32.
// `source` / `destination` hold raw 16-bit IEEE half or bfloat16 values.
enum class HalfType { kFloat16, kBFloat16 };
const char* ToFloat(HalfType type, const void* source, float* destination, int64_t count,
                    void* stream);
const char* FromFloat(HalfType type, const float* source, void* destination, int64_t count,
                      void* stream);

}  // namespace cuda
}  // namespace deform_conv
}  // namespace efgrnet

#endif  // EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_CUDA_H_
