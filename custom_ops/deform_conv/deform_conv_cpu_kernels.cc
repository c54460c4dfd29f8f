// CPU kernels of EfgrnetDeformConv2D and EfgrnetDeformConv2DGrad: the shared kernel classes
// (deform_conv_op_kernels.h) running the CPU engine (cpu_engine.h) on the intra-op thread pool.
#define EIGEN_USE_THREADS

#include <functional>
#include <utility>

#include "cpu_engine.h"
#include "deform_conv_op_kernels.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "unsupported/Eigen/CXX11/Tensor"

namespace efgrnet {
namespace deform_conv {
namespace {

using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using CpuDevice = Eigen::ThreadPoolDevice;

class IntraOpPool final : public WorkerPool {
 public:
  explicit IntraOpPool(OpKernelContext* context)
      : pool_(context->device()->tensorflow_cpu_worker_threads()->workers) {}
  int NumThreads() const override { return pool_->NumThreads(); }
  int CurrentThreadId() const override { return pool_->CurrentThreadId(); }
  void Schedule(std::function<void()> task) override { pool_->Schedule(std::move(task)); }

 private:
  tsl::thread::ThreadPool* pool_;
};

// The CPU side of the kernel classes' `Engine` contract.
struct CpuOps {
  template <typename T>
  static absl::Status ToFloat(OpKernelContext* context, const Tensor& source, Tensor* result) {
    result->flat<float>().device(context->eigen_device<CpuDevice>()) =
        source.flat<T>().template cast<float>();
    return absl::OkStatus();
  }

  template <typename T>
  static absl::Status FromFloat(OpKernelContext* context, const Tensor& source, Tensor* result) {
    result->flat<T>().device(context->eigen_device<CpuDevice>()) =
        source.flat<float>().template cast<T>();
    return absl::OkStatus();
  }

  template <typename T>
  static absl::Status SetZero(OpKernelContext*, Tensor* tensor) {
    tensor->flat<T>().setZero();
    return absl::OkStatus();
  }

  static int64_t ForwardScratchFloats(const DeformConvGeometry& g) {
    return deform_conv::ForwardScratchFloats(g);
  }

  static int64_t BackwardScratchFloats(const DeformConvGeometry& g) {
    return deform_conv::BackwardScratchFloats(g);
  }

  static absl::Status Forward(OpKernelContext* context, const DeformConvGeometry& g,
                              const ForwardTensors& tensors) {
    IntraOpPool pool(context);
    SelectCpuEngine().forward(g, tensors, pool);
    return absl::OkStatus();
  }

  static absl::Status Backward(OpKernelContext* context, const DeformConvGeometry& g,
                               const BackwardTensors& tensors) {
    IntraOpPool pool(context);
    SelectCpuEngine().backward(g, tensors, pool);
    return absl::OkStatus();
  }
};

EFGRNET_REGISTER_DEFORM_CONV_KERNELS(tensorflow::DEVICE_CPU, CpuOps)

}  // namespace
}  // namespace deform_conv
}  // namespace efgrnet
