// GPU kernels of EfgrnetDeformConv2D and EfgrnetDeformConv2DGrad: the shared kernel classes
// (deform_conv_op_kernels.h) running the CUDA launchers of deform_conv_cuda.h on the op's stream.
// Compiled (by g++) only into CUDA builds of the library; see setup.py.
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "deform_conv_cuda.h"
#include "deform_conv_op_kernels.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "xla/stream_executor/stream.h"

namespace efgrnet {
namespace deform_conv {
namespace {

using tensorflow::OpKernelContext;
using tensorflow::Tensor;

// The cudaStream_t the op must run on.
void* StreamOf(OpKernelContext* context) {
  return context->op_device_context()->stream()->platform_specific_handle().stream;
}

absl::Status CudaStatus(const char* error) {
  return error == nullptr ? absl::OkStatus()
                          : absl::InternalError(absl::StrCat("EfgrnetDeformConv2D CUDA: ", error));
}

template <typename T>
constexpr cuda::HalfType HalfTypeOf() {
  return std::is_same_v<T, Eigen::half> ? cuda::HalfType::kFloat16 : cuda::HalfType::kBFloat16;
}

// The GPU side of the kernel classes' `Engine` contract.
struct GpuOps {
  template <typename T>
  static absl::Status ToFloat(OpKernelContext* context, const Tensor& source, Tensor* result) {
    return CudaStatus(cuda::ToFloat(HalfTypeOf<T>(), source.flat<T>().data(),
                                    result->flat<float>().data(), source.NumElements(),
                                    StreamOf(context)));
  }

  template <typename T>
  static absl::Status FromFloat(OpKernelContext* context, const Tensor& source, Tensor* result) {
    return CudaStatus(cuda::FromFloat(HalfTypeOf<T>(), source.flat<float>().data(),
                                      result->flat<T>().data(), result->NumElements(),
                                      StreamOf(context)));
  }

  template <typename T>
  static absl::Status SetZero(OpKernelContext* context, Tensor* tensor) {
    return CudaStatus(cuda::SetZero(tensor->data(), tensor->TotalBytes(), StreamOf(context)));
  }

  static int64_t ForwardScratchFloats(const DeformConvGeometry& g) {
    return cuda::ForwardScratchFloats(g);
  }

  static int64_t BackwardScratchFloats(const DeformConvGeometry& g) {
    return cuda::BackwardScratchFloats(g);
  }

  static absl::Status Forward(OpKernelContext* context, const DeformConvGeometry& g,
                              const ForwardTensors& tensors) {
    return CudaStatus(cuda::Forward(g, tensors, StreamOf(context)));
  }

  static absl::Status Backward(OpKernelContext* context, const DeformConvGeometry& g,
                               const BackwardTensors& tensors) {
    return CudaStatus(cuda::Backward(g, tensors, StreamOf(context)));
  }
};

EFGRNET_REGISTER_DEFORM_CONV_KERNELS(tensorflow::DEVICE_GPU, GpuOps)

}  // namespace
}  // namespace deform_conv
}  // namespace efgrnet
