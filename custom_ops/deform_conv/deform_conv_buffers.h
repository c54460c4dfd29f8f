// The tensors one forward or backward computation reads and writes, as raw float32 pointers
// (host memory for the CPU engine, device memory for the CUDA kernels).
#ifndef EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_BUFFERS_H_
#define EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_BUFFERS_H_

namespace efgrnet {
namespace deform_conv {

// All tensors dense row-major in the layouts of deform_conv_geometry.h, float32.
struct ForwardTensors {
  const float* input = nullptr;
  const float* offset = nullptr;
  const float* mask = nullptr;  // nullptr unless geometry.use_mask
  const float* kernel = nullptr;
  float* output = nullptr;
  float* scratch = nullptr;  // ForwardScratchFloats(geometry) floats of the engine used
};

struct BackwardTensors {
  const float* input = nullptr;
  const float* offset = nullptr;
  const float* mask = nullptr;  // nullptr unless geometry.use_mask
  const float* kernel = nullptr;
  const float* grad_output = nullptr;
  float* grad_input = nullptr;
  float* grad_offset = nullptr;
  float* grad_mask = nullptr;  // nullptr unless geometry.use_mask
  float* grad_kernel = nullptr;
  float* scratch = nullptr;  // BackwardScratchFloats(geometry) floats of the engine used
};

}  // namespace deform_conv
}  // namespace efgrnet

#endif  // EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_BUFFERS_H_
