// N-API binding of PyTorch's c10d process groups (Gloo on CPU; NCCL is not bound: see README).
//
// JS passes host typed arrays; each collective runs on a libuv worker thread (Napi::AsyncWorker) so the
// event loop stays free for signals and timers, and resolves a Promise. Arrays are wrapped as torch tensors
// without copying (torch::from_blob), grouped into buckets, and reduced in place. c10d / Gloo exceptions
// become rejected Promises with the collective's name, never an abort.
#include <napi.h>

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using c10d::ProcessGroupGloo;
using Ms = std::chrono::milliseconds;

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<ProcessGroupGloo> pg;
  int rank = 0;
  int size = 1;
  Ms timeout{300000};
};

// One typed-array argument: pointer, element count and torch dtype; the JS object is kept alive by `ref`.
struct Buffer {
  void* data = nullptr;
  int64_t numel = 0;
  at::ScalarType dtype = at::kFloat;
  Napi::ObjectReference ref;
};

Buffer ReadBuffer(const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray()) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + ": expected a Float32Array, Int32Array or Uint8Array");
  }
  auto array = value.As<Napi::TypedArray>();
  Buffer b;
  switch (array.TypedArrayType()) {
    case napi_float32_array: b.dtype = at::kFloat; break;
    case napi_int32_array: b.dtype = at::kInt; break;
    case napi_uint8_array: b.dtype = at::kByte; break;
    case napi_float64_array: b.dtype = at::kDouble; break;
    default:
      throw Napi::TypeError::New(value.Env(), std::string(what) + ": unsupported typed array (use Float32Array, Float64Array, Int32Array or Uint8Array)");
  }
  auto buffer = array.ArrayBuffer();
  b.data = static_cast<uint8_t*>(buffer.Data()) + array.ByteOffset();
  b.numel = static_cast<int64_t>(array.ElementLength());
  b.ref = Napi::Persistent(value.As<Napi::Object>());
  return b;
}

at::Tensor Wrap(const Buffer& b) {
  return torch::from_blob(b.data, {b.numel}, torch::TensorOptions().dtype(b.dtype));
}

// Runs `fn` on a worker thread and settles a Promise with its result (or the c10d error).
class CollectiveWorker : public Napi::AsyncWorker {
 public:
  CollectiveWorker(Napi::Env env, std::string name, std::function<void()> fn, std::vector<Buffer> keep)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), name_(std::move(name)),
        fn_(std::move(fn)), keep_(std::move(keep)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      fn_();
    } catch (const std::exception& e) {
      SetError(name_ + ": " + e.what());
    } catch (...) {
      SetError(name_ + ": unknown c10d failure");
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string name_;
  std::function<void()> fn_;
  std::vector<Buffer> keep_;
};

class ProcessGroup : public Napi::ObjectWrap<ProcessGroup> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ProcessGroup",
                       {InstanceMethod("allReduce", &ProcessGroup::AllReduce),
                        InstanceMethod("broadcast", &ProcessGroup::Broadcast),
                        InstanceMethod("allGather", &ProcessGroup::AllGather),
                        InstanceMethod("barrier", &ProcessGroup::Barrier),
                        InstanceMethod("destroy", &ProcessGroup::Destroy),
                        InstanceAccessor("rank", &ProcessGroup::Rank, nullptr),
                        InstanceAccessor("size", &ProcessGroup::Size, nullptr)});
  }

  // new ProcessGroup({ rank, size, timeoutMs, store: 'tcp'|'file', host, port, isServer, path, prefix })
  explicit ProcessGroup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProcessGroup>(info) {
    Napi::Env env = info.Env();
    auto o = info[0].As<Napi::Object>();
    group_ = std::make_shared<Group>();
    group_->rank = o.Get("rank").As<Napi::Number>().Int32Value();
    group_->size = o.Get("size").As<Napi::Number>().Int32Value();
    group_->timeout = Ms(static_cast<int64_t>(o.Get("timeoutMs").As<Napi::Number>().DoubleValue()));
    std::string kind = o.Get("store").As<Napi::String>().Utf8Value();
    std::string prefix = o.Has("prefix") ? o.Get("prefix").As<Napi::String>().Utf8Value() : std::string("lss");
    try {
      c10::intrusive_ptr<c10d::Store> base;
      if (kind == "tcp") {
        c10d::TCPStoreOptions opts;
        opts.port = static_cast<uint16_t>(o.Get("port").As<Napi::Number>().Uint32Value());
        opts.isServer = o.Get("isServer").As<Napi::Boolean>().Value();
        opts.numWorkers = group_->size;
        opts.waitWorkers = true;
        opts.timeout = group_->timeout;
        base = c10::make_intrusive<c10d::TCPStore>(o.Get("host").As<Napi::String>().Utf8Value(), opts);
      } else {
        base = c10::make_intrusive<c10d::FileStore>(o.Get("path").As<Napi::String>().Utf8Value(), group_->size);
        base->setTimeout(group_->timeout);
      }
      group_->store = c10::make_intrusive<c10d::PrefixStore>(prefix, base);
      auto options = ProcessGroupGloo::Options::create(group_->timeout);
      const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
      options->devices.push_back(iface != nullptr && *iface != 0 ? ProcessGroupGloo::createDeviceForInterface(iface)
                                                                 : ProcessGroupGloo::createDefaultDevice());
      options->threads = 2;
      group_->pg = c10::make_intrusive<ProcessGroupGloo>(group_->store, group_->rank, group_->size, options);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("rendezvous: ") + e.what());
    }
  }

 private:
  std::shared_ptr<Group> group_;

  Napi::Value Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), group_->rank); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), group_->size); }

  void CheckOpen(Napi::Env env, const char* what) {
    if (!group_ || !group_->pg) throw Napi::Error::New(env, std::string(what) + ": the process group was destroyed");
  }

  // Arrays of one dtype are packed into flat buckets of at most bucketBytes (one Gloo call per bucket instead
  // of one per array, as PyTorch DDP's gradient buckets do) and reduced in place.
  using View = std::pair<void*, std::pair<int64_t, at::ScalarType>>;
  static void ReduceBuckets(const std::shared_ptr<Group>& group, const std::vector<View>& views, c10d::ReduceOp reduce,
                            bool mean, int64_t bucketBytes) {
    size_t i = 0;
    while (i < views.size()) {
      at::ScalarType dtype = views[i].second.second;
      int64_t elem = static_cast<int64_t>(c10::elementSize(dtype));
      size_t j = i;
      int64_t total = 0;
      while (j < views.size() && views[j].second.second == dtype &&
             (j == i || (total + views[j].second.first) * elem <= bucketBytes)) {
        total += views[j].second.first;
        j++;
      }
      at::Tensor flat;
      if (j - i == 1) {
        flat = torch::from_blob(views[i].first, {total}, torch::TensorOptions().dtype(dtype));
      } else {
        flat = torch::empty({total}, torch::TensorOptions().dtype(dtype));
        int64_t offset = 0;
        for (size_t k = i; k < j; k++) {
          int64_t n = views[k].second.first;
          std::memcpy(static_cast<uint8_t*>(flat.data_ptr()) + offset * elem, views[k].first, n * elem);
          offset += n;
        }
      }
      std::vector<at::Tensor> tensors{flat};
      c10d::AllreduceOptions opts;
      opts.reduceOp = reduce;
      opts.timeout = group->timeout;
      group->pg->allreduce(tensors, opts)->wait(group->timeout);
      if (mean) flat.div_(group->size);
      if (j - i > 1) {
        int64_t offset = 0;
        for (size_t k = i; k < j; k++) {
          int64_t n = views[k].second.first;
          std::memcpy(views[k].first, static_cast<uint8_t*>(flat.data_ptr()) + offset * elem, n * elem);
          offset += n;
        }
      }
      i = j;
    }
  }

  // allReduce(arrays: TypedArray[], op: 'sum'|'mean'|'max'|'min', bucketBytes: number, sync?: boolean)
  // Without `sync`: returns a Promise and runs on a worker thread. With `sync`: blocks the calling thread
  // (for reductions needed inside a synchronous tfjs computation) and throws on failure.
  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "allReduce");
    auto list = info[0].As<Napi::Array>();
    std::string op = info[1].As<Napi::String>().Utf8Value();
    int64_t bucketBytes = static_cast<int64_t>(info[2].As<Napi::Number>().DoubleValue());
    bool sync = info.Length() > 3 && info[3].ToBoolean().Value();
    std::vector<Buffer> buffers;
    for (uint32_t i = 0; i < list.Length(); i++) buffers.push_back(ReadBuffer(list.Get(i), "allReduce"));
    std::vector<View> views;
    for (auto& b : buffers) views.push_back({b.data, {b.numel, b.dtype}});
    auto group = group_;
    c10d::ReduceOp reduce = op == "max" ? c10d::ReduceOp::MAX : op == "min" ? c10d::ReduceOp::MIN : c10d::ReduceOp::SUM;
    bool mean = op == "mean";
    if (sync) {
      try {
        ReduceBuckets(group, views, reduce, mean, bucketBytes);
      } catch (const std::exception& e) {
        throw Napi::Error::New(env, std::string("allReduce: ") + e.what());
      }
      return env.Undefined();
    }
    auto fn = [group, views, reduce, mean, bucketBytes]() { ReduceBuckets(group, views, reduce, mean, bucketBytes); };
    auto* worker = new CollectiveWorker(env, "allReduce", fn, std::move(buffers));
    worker->Queue();
    return worker->Promise();
  }

  // broadcast(array, root): Promise<void> — `array` on every rank receives root's contents.
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "broadcast");
    std::vector<Buffer> buffers;
    buffers.push_back(ReadBuffer(info[0], "broadcast"));
    int root = info[1].As<Napi::Number>().Int32Value();
    at::Tensor t = Wrap(buffers[0]);
    auto group = group_;
    auto fn = [group, t, root]() {
      std::vector<at::Tensor> tensors{t};
      c10d::BroadcastOptions opts;
      opts.rootRank = root;
      opts.timeout = group->timeout;
      group->pg->broadcast(tensors, opts)->wait(group->timeout);
    };
    auto* worker = new CollectiveWorker(env, "broadcast", fn, std::move(buffers));
    worker->Queue();
    return worker->Promise();
  }

  // allGather(input, output): Promise<void> — output (size x input.length) receives every rank's input in
  // rank order.
  Napi::Value AllGather(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "allGather");
    std::vector<Buffer> buffers;
    buffers.push_back(ReadBuffer(info[0], "allGather input"));
    buffers.push_back(ReadBuffer(info[1], "allGather output"));
    if (buffers[1].numel != buffers[0].numel * group_->size || buffers[0].dtype != buffers[1].dtype) {
      std::ostringstream msg;
      msg << "allGather: output has " << buffers[1].numel << " elements, expected " << buffers[0].numel * group_->size
          << " (world size x input length) of the input's type";
      throw Napi::RangeError::New(env, msg.str());
    }
    at::Tensor in = Wrap(buffers[0]);
    at::Tensor out = Wrap(buffers[1]);
    auto group = group_;
    auto fn = [group, in, out]() {
      std::vector<at::Tensor> inputs{in};
      std::vector<std::vector<at::Tensor>> outputs(1);
      for (int r = 0; r < group->size; r++) outputs[0].push_back(out.narrow(0, r * in.numel(), in.numel()));
      c10d::AllgatherOptions opts;
      opts.timeout = group->timeout;
      group->pg->allgather(outputs, inputs, opts)->wait(group->timeout);
    };
    auto* worker = new CollectiveWorker(env, "allGather", fn, std::move(buffers));
    worker->Queue();
    return worker->Promise();
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "barrier");
    auto group = group_;
    auto fn = [group]() {
      c10d::BarrierOptions opts;
      opts.timeout = group->timeout;
      group->pg->barrier(opts)->wait(group->timeout);
    };
    auto* worker = new CollectiveWorker(env, "barrier", fn, {});
    worker->Queue();
    return worker->Promise();
  }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    group_.reset();
    return info.Env().Undefined();
  }
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("ProcessGroup", ProcessGroup::Init(env));
  exports.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  return exports;
}

}  // namespace

NODE_API_MODULE(lss_distributed, Init)
