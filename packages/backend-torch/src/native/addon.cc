// N-API addon over libtorch (ATen) for the tfjs 'torch' backend of LSS.js.
//
// Storage: every tensor the JS side knows lives in one handle table (id -> at::Tensor). JS owns the ids
// (tfjs refcounts live in JS); `free` drops one. Ops never modify a tensor in place, so views (reshape,
// permute, narrow) can share storage safely. Shapes of results are written into a shared scratch array
// (`meta`: [rank, d0, d1, ...]) so that each op is one N-API call returning one number.
// Every libtorch exception is caught and rethrown as a JS Error (never aborts the process).
#include <napi.h>
#include <unordered_set>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>
#include <dlfcn.h>
#include <pthread.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

std::unordered_map<double, at::Tensor> g_tensors;  // id -> tensor
double g_next_id = 1;
at::Device g_device(at::kCPU);
double* g_meta = nullptr;  // Float64Array shared with JS: [rank, dims...]
Napi::Reference<Napi::Float64Array> g_meta_ref;
constexpr int kMaxRank = 32;

// dtype codes shared with JS: 0 float32, 1 int32, 2 bool.
at::ScalarType toScalarType(int code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kInt;
    case 2: return at::kBool;
  }
  throw std::runtime_error("unknown dtype code " + std::to_string(code));
}

double put(at::Tensor t, int outDtype) {
  at::ScalarType want = toScalarType(outDtype);
  if (t.scalar_type() != want) t = t.to(want);
  if (t.dim() > kMaxRank) throw std::runtime_error("result rank above 32");
  double id = g_next_id++;
  g_meta[0] = static_cast<double>(t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) g_meta[i + 1] = static_cast<double>(t.size(i));
  g_tensors.emplace(id, std::move(t));
  return id;
}

const at::Tensor& get(const Napi::Value& v) {
  double id = v.As<Napi::Number>().DoubleValue();
  auto it = g_tensors.find(id);
  if (it == g_tensors.end()) throw std::runtime_error("unknown tensor handle " + std::to_string(id));
  return it->second;
}

std::vector<int64_t> ints(const Napi::Value& v) {
  std::vector<int64_t> out;
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() == napi_int32_array) {
      auto a = v.As<Napi::Int32Array>();
      for (size_t i = 0; i < a.ElementLength(); ++i) out.push_back(a[i]);
      return out;
    }
    throw std::runtime_error("expected an Int32Array or an array of integers");
  }
  auto arr = v.As<Napi::Array>();
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(arr.Get(i).As<Napi::Number>().Int64Value());
  return out;
}

std::vector<at::Tensor> tensors(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(get(arr.Get(i)));
  return out;
}

int I(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
double D(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
bool B(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

at::TensorOptions opts(int dtype) { return at::TensorOptions().dtype(toScalarType(dtype)).device(g_device); }

// ---------- fork safety ----------
// Node starts every child process with fork(), on whichever thread asks: a worker_thread spawning ffmpeg forks
// while the main thread runs kernels here. fork() first runs every library's pthread_atfork "prepare" handler on
// the forking thread, and OpenBLAS's (blas_thread_shutdown_) stops OpenBLAS's thread pool assuming no BLAS call
// is in flight. When a matrix product runs at the same moment on the main thread, a pool thread is handed the
// product's work instead of the stop request, the forking thread waits for it forever (pthread_join), and later
// forks wait behind it (OpenBLAS's server lock): lss-train with view worker threads hung after a few steps
// (known OpenBLAS race: OpenMathLib/OpenBLAS#2270, #3111). So kernels and forks exclude each other: every kernel
// call holds g_fork_lock, and a fork takes it in a prepare handler registered after OpenBLAS's (prepare handlers
// run in reverse order of registration, so ours runs first), releasing it in the parent and the child. A fork
// then waits at most for the kernel in flight, and a kernel for the fork's handlers.
pthread_mutex_t g_fork_lock = PTHREAD_MUTEX_INITIALIZER;
void forkPrepare() { pthread_mutex_lock(&g_fork_lock); }
void forkParent() { pthread_mutex_unlock(&g_fork_lock); }
void forkChild() { pthread_mutex_init(&g_fork_lock, nullptr); }  // only the forking thread exists in the child

struct KernelLock {
  KernelLock() { pthread_mutex_lock(&g_fork_lock); }
  ~KernelLock() { pthread_mutex_unlock(&g_fork_lock); }
  KernelLock(const KernelLock&) = delete;
  KernelLock& operator=(const KernelLock&) = delete;
};

// Runs f under the fork lock, turning any C++ exception into a JS exception (the process never aborts on a
// libtorch error).
template <typename F>
Napi::Value guard(const Napi::CallbackInfo& info, F f) {
  KernelLock lock;
  try {
    return f();
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

#define FN(name) Napi::Value name(const Napi::CallbackInfo& info)
#define NUM(x) Napi::Number::New(info.Env(), (x))

// ---------- storage ----------

FN(FromArray) {  // (typedArray, shape, dtype) -> id
  return guard(info, [&]() -> Napi::Value {
    auto ta = info[0].As<Napi::TypedArray>();
    auto shape = ints(info[1]);
    int dtype = I(info, 2);
    at::ScalarType src;
    switch (ta.TypedArrayType()) {
      case napi_float32_array: src = at::kFloat; break;
      case napi_int32_array: src = at::kInt; break;
      case napi_uint8_array: src = at::kByte; break;
      case napi_int8_array: src = at::kChar; break;
      case napi_float64_array: src = at::kDouble; break;
      case napi_int16_array: src = at::kShort; break;
      case napi_uint16_array: src = at::kShort; break;
      default: throw std::runtime_error("unsupported typed array for a tensor");
    }
    int64_t n = 1;
    for (auto d : shape) n *= d;
    size_t elem = at::elementSize(src);
    if (static_cast<int64_t>(ta.ByteLength() / elem) < n)
      throw std::runtime_error("typed array holds fewer values than the shape needs");
    auto buf = ta.ArrayBuffer();
    uint8_t* data = static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset();
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(src));
    if (n > 0) std::memcpy(t.data_ptr(), data, n * elem);
    at::ScalarType want = toScalarType(dtype);
    if (want == at::kBool && src != at::kBool) t = t.ne(0);
    else if (src != want) t = t.to(want);
    if (g_device.type() != at::kCPU) t = t.to(g_device);
    return NUM(put(std::move(t), dtype));
  });
}

Napi::Value toTypedArray(Napi::Env env, const at::Tensor& cpu) {
  int64_t n = cpu.numel();
  switch (cpu.scalar_type()) {
    case at::kFloat: {
      auto out = Napi::Float32Array::New(env, n);
      if (n) std::memcpy(out.Data(), cpu.data_ptr(), n * 4);
      return out;
    }
    case at::kInt: {
      auto out = Napi::Int32Array::New(env, n);
      if (n) std::memcpy(out.Data(), cpu.data_ptr(), n * 4);
      return out;
    }
    case at::kBool: {
      auto out = Napi::Uint8Array::New(env, n);
      if (n) std::memcpy(out.Data(), cpu.data_ptr(), n);
      return out;
    }
    default: throw std::runtime_error("cannot read a tensor of this dtype");
  }
}

at::Tensor hostCopy(const at::Tensor& t) { return t.to(at::kCPU).contiguous(); }

FN(Read) {  // (id) -> TypedArray (a copy)
  return guard(info, [&]() -> Napi::Value { return toTypedArray(info.Env(), hostCopy(get(info[0]))); });
}

// Reads on a worker thread (used on CUDA so the event loop is not blocked by the device sync).
class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, at::Tensor t) : Napi::AsyncWorker(env), t_(std::move(t)), deferred_(Napi::Promise::Deferred::New(env)) {}
  void Execute() override {
    try {
      host_ = hostCopy(t_);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    try {
      deferred_.Resolve(toTypedArray(Env(), host_));
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(Env(), e.what()).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }
  Napi::Promise Promise() { return deferred_.Promise(); }

 private:
  at::Tensor t_, host_;
  Napi::Promise::Deferred deferred_;
};

FN(ReadAsync) {
  return guard(info, [&]() -> Napi::Value {
    auto* w = new ReadWorker(info.Env(), get(info[0]));
    auto p = w->Promise();
    w->Queue();
    return p;
  });
}

FN(Free) {
  double id = D(info, 0);
  g_tensors.erase(id);
  return info.Env().Undefined();
}

FN(FreeAll) {
  g_tensors.clear();
  return info.Env().Undefined();
}

FN(Stats) {  // -> {handles, bytes, storageBytes}: live handles, the bytes their tensors span (views
            // counted each), and the bytes of the distinct storages behind them (what is allocated)
  double bytes = 0, storageBytes = 0;
  std::unordered_set<const void*> storages;
  for (auto& kv : g_tensors) {
    const at::Tensor& t = kv.second;
    bytes += static_cast<double>(t.numel()) * t.element_size();
    if (t.has_storage() && storages.insert(t.storage().unsafeGetStorageImpl()).second)
      storageBytes += static_cast<double>(t.storage().nbytes());
  }
  auto o = Napi::Object::New(info.Env());
  o.Set("handles", NUM(static_cast<double>(g_tensors.size())));
  o.Set("bytes", bytes);
  o.Set("storageBytes", storageBytes);
  return o;
}

FN(ShapeOf) {  // (id) -> rank, shape into meta
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& t = get(info[0]);
    g_meta[0] = static_cast<double>(t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) g_meta[i + 1] = static_cast<double>(t.size(i));
    return NUM(static_cast<double>(t.dim()));
  });
}

FN(SetMeta) {
  auto a = info[0].As<Napi::Float64Array>();
  if (a.ElementLength() < kMaxRank + 1) throw Napi::Error::New(info.Env(), "meta array too short");
  g_meta_ref = Napi::Persistent(a);
  g_meta = a.Data();
  return info.Env().Undefined();
}

// ---------- runtime ----------

FN(SetThreads) {  // (n): libtorch intra-op (and OpenMP through it) + OpenBLAS
  int n = I(info, 0);
  return guard(info, [&]() -> Napi::Value {
    at::set_num_threads(n);
    using SetFn = void (*)(int);
    for (const char* sym : {"openblas_set_num_threads", "goto_set_num_threads", "omp_set_num_threads"}) {
      if (auto f = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, sym))) f(n);
    }
    return NUM(at::get_num_threads());
  });
}

FN(GetThreads) { return NUM(at::get_num_threads()); }

FN(SetDevice) {  // ('cpu' | 'cuda')
  return guard(info, [&]() -> Napi::Value {
    std::string d = info[0].As<Napi::String>().Utf8Value();
    if (d == "cuda") {
      if (!at::hasCUDA()) throw std::runtime_error("this libtorch has no CUDA or no GPU is visible");
      g_device = at::Device(at::kCUDA, 0);
    } else if (d == "cpu") {
      g_device = at::Device(at::kCPU);
    } else {
      throw std::runtime_error("unknown device " + d);
    }
    return info.Env().Undefined();
  });
}

FN(HasCuda) { return Napi::Boolean::New(info.Env(), at::hasCUDA()); }

FN(Sync) {  // waits for queued device work (CUDA); a no-op on CPU
  return guard(info, [&]() -> Napi::Value {
    if (g_device.is_cuda() && !g_tensors.empty()) {
      // A host read of one element forces a device synchronisation without extra headers.
      (void)at::zeros({1}, at::TensorOptions().device(g_device)).to(at::kCPU);
    }
    return info.Env().Undefined();
  });
}

FN(Config) {
  auto o = Napi::Object::New(info.Env());
  o.Set("torchVersion", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH));
  o.Set("cuda", Napi::Boolean::New(info.Env(), at::hasCUDA()));
  o.Set("parallelInfo", at::get_parallel_info());
  return o;
}

// ---------- kernels ----------

at::Tensor floaty(const at::Tensor& t) { return at::isFloatingType(t.scalar_type()) ? t : t.to(at::kFloat); }

// Unary op codes (keep in sync with src/ops.ts UNARY).
FN(Unary) {  // (op, x, outDtype, alpha?)
  return guard(info, [&]() -> Napi::Value {
    int op = I(info, 0);
    const at::Tensor& x = get(info[1]);
    int out = I(info, 2);
    at::Tensor r;
    switch (op) {
      case 0: r = at::exp(floaty(x)); break;
      case 1: r = at::log(floaty(x)); break;
      case 2: r = at::sqrt(floaty(x)); break;
      case 3: r = at::rsqrt(floaty(x)); break;
      case 4: r = at::mul(x, x); break;                       // Square
      case 5: r = at::neg(x); break;
      case 6: r = at::sigmoid(floaty(x)); break;
      case 7: r = at::abs(x); break;
      case 8: r = at::erf(floaty(x)); break;
      case 9: r = at::tanh(floaty(x)); break;
      case 10: r = at::relu(x); break;
      case 11: r = at::clamp(x, 0, 6); break;                 // Relu6
      case 12: r = at::floor(floaty(x)); break;
      case 13: r = at::ceil(floaty(x)); break;
      case 14: r = at::round(floaty(x)); break;               // half to even, as tfjs
      case 15: r = at::sign(x); break;
      case 16: r = at::sin(floaty(x)); break;
      case 17: r = at::cos(floaty(x)); break;
      case 18: r = at::tan(floaty(x)); break;
      case 19: r = at::asin(floaty(x)); break;
      case 20: r = at::acos(floaty(x)); break;
      case 21: r = at::atan(floaty(x)); break;
      case 22: r = at::sinh(floaty(x)); break;
      case 23: r = at::cosh(floaty(x)); break;
      case 24: r = at::log1p(floaty(x)); break;
      case 25: r = at::expm1(floaty(x)); break;
      case 26: r = at::reciprocal(floaty(x)); break;
      case 27: r = at::softplus(floaty(x)); break;
      case 28: r = at::elu(floaty(x)); break;
      case 29: r = at::selu(floaty(x)); break;
      case 30: r = at::isnan(x); break;
      case 31: r = at::isinf(x); break;
      case 32: r = at::isfinite(x); break;
      case 33: r = at::logical_not(x); break;
      case 34: {  // Step(alpha): x > 0 ? 1 : alpha, NaN stays NaN
        double alpha = D(info, 3);
        at::Tensor fx = floaty(x);
        r = at::where(at::isnan(fx), fx, at::where(fx > 0, at::ones_like(fx), at::full_like(fx, alpha)));
        break;
      }
      case 35: r = at::leaky_relu(floaty(x), D(info, 3)); break;
      case 36: r = at::asinh(floaty(x)); break;
      case 37: r = at::acosh(floaty(x)); break;
      case 38: r = at::atanh(floaty(x)); break;
      case 39: r = x.clone(); break;  // Identity copy (used for Cast to the same dtype)
      default: throw std::runtime_error("unknown unary op " + std::to_string(op));
    }
    return NUM(put(std::move(r), out));
  });
}

// Binary op codes (keep in sync with src/ops.ts BINARY). Broadcasting as numpy.
FN(Binary) {  // (op, a, b, outDtype)
  return guard(info, [&]() -> Napi::Value {
    int op = I(info, 0);
    at::Tensor a = get(info[1]);
    at::Tensor b = get(info[2]);
    int out = I(info, 3);
    if (op <= 9 && (a.scalar_type() == at::kBool || b.scalar_type() == at::kBool)) {
      a = a.to(at::kInt);
      b = b.to(at::kInt);
    }
    at::Tensor r;
    switch (op) {
      case 0: r = at::add(a, b); break;
      case 1: r = at::sub(a, b); break;
      case 2: r = at::mul(a, b); break;
      case 3: r = at::div(floaty(a), floaty(b)); break;        // RealDiv
      case 4: r = at::maximum(a, b); break;
      case 5: r = at::minimum(a, b); break;
      case 6: r = at::pow(floaty(a), floaty(b)); break;
      case 7: { auto d = at::sub(a, b); r = at::mul(d, d); break; }  // SquaredDifference
      case 8: r = at::div(a, b, "floor"); break;               // FloorDiv
      case 9: r = at::remainder(a, b); break;                  // Mod (sign of divisor, as tfjs)
      case 10: r = at::eq(a, b); break;
      case 11: r = at::ne(a, b); break;
      case 12: r = at::gt(a, b); break;
      case 13: r = at::ge(a, b); break;
      case 14: r = at::lt(a, b); break;
      case 15: r = at::le(a, b); break;
      case 16: r = at::logical_and(a, b); break;
      case 17: r = at::logical_or(a, b); break;
      case 18: r = at::atan2(floaty(a), floaty(b)); break;
      case 19: r = at::logical_xor(a, b); break;
      default: throw std::runtime_error("unknown binary op " + std::to_string(op));
    }
    return NUM(put(std::move(r), out));
  });
}

// Reduction op codes: 0 sum, 1 mean, 2 max, 3 min, 4 prod, 5 all, 6 any. Empty axes: a copy.
FN(Reduce) {  // (op, x, axes, keepDims, outDtype)
  return guard(info, [&]() -> Napi::Value {
    int op = I(info, 0);
    at::Tensor x = get(info[1]);
    auto axes = ints(info[2]);
    bool keep = B(info, 3);
    int out = I(info, 4);
    if (axes.empty()) return NUM(put(x.clone(), out));
    at::Tensor r;
    switch (op) {
      case 0: r = at::sum(x.scalar_type() == at::kBool ? x.to(at::kInt) : x, axes, keep); break;
      case 1: r = at::mean(floaty(x), axes, keep); break;
      case 2:
      case 3: {
        if (x.numel() == 0) throw std::runtime_error("max/min of an empty tensor");
        r = op == 2 ? at::amax(x, axes, keep) : at::amin(x, axes, keep);
        break;
      }
      case 4: {  // prod over several axes: one at a time, highest axis first
        std::vector<int64_t> s(axes);
        for (auto& v : s) if (v < 0) v += x.dim();
        std::sort(s.rbegin(), s.rend());
        r = x.scalar_type() == at::kBool ? x.to(at::kInt) : x;
        for (auto ax : s) r = at::prod(r, ax, keep);
        break;
      }
      case 5:
      case 6: {
        std::vector<int64_t> s(axes);
        for (auto& v : s) if (v < 0) v += x.dim();
        std::sort(s.rbegin(), s.rend());
        r = x.to(at::kBool);
        for (auto ax : s) r = op == 5 ? at::all(r, ax, keep) : at::any(r, ax, keep);
        break;
      }
      default: throw std::runtime_error("unknown reduce op " + std::to_string(op));
    }
    return NUM(put(std::move(r), out));
  });
}

FN(ArgReduce) {  // (isMax, x, axis) -> int32
  return guard(info, [&]() -> Napi::Value {
    bool isMax = B(info, 0);
    const at::Tensor& x = get(info[1]);
    int64_t axis = I(info, 2);
    at::Tensor src = x.scalar_type() == at::kBool ? x.to(at::kInt) : x;
    // tfjs ignores NaNs (libtorch would pick them): NaN -> -inf for argmax, +inf for argmin
    if (at::isFloatingType(src.scalar_type()))
      src = at::where(at::isnan(src), at::full_like(src, isMax ? -INFINITY : INFINITY), src);
    at::Tensor r = isMax ? at::argmax(src, axis) : at::argmin(src, axis);
    return NUM(put(std::move(r), 1));
  });
}

FN(Softmax) {  // (x, dim, log)
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& x = get(info[0]);
    int64_t dim = I(info, 1);
    at::Tensor r = B(info, 2) ? at::log_softmax(floaty(x), dim) : at::softmax(floaty(x), dim);
    return NUM(put(std::move(r), 0));
  });
}

FN(MatMul) {  // (a, b, transposeA, transposeB) with two-sided batch broadcasting
  return guard(info, [&]() -> Napi::Value {
    at::Tensor a = get(info[0]);
    at::Tensor b = get(info[1]);
    if (B(info, 2)) a = a.transpose(-2, -1);
    if (B(info, 3)) b = b.transpose(-2, -1);
    int out = a.scalar_type() == at::kInt ? 1 : 0;
    if (a.scalar_type() == at::kBool) a = a.to(at::kFloat);
    if (b.scalar_type() == at::kBool) b = b.to(at::kFloat);
    return NUM(put(at::matmul(a, b), out));
  });
}

FN(Reshape) {
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& x = get(info[0]);
    return NUM(put(x.reshape(ints(info[1])), I(info, 2)));
  });
}

FN(Transpose) {
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& x = get(info[0]);
    return NUM(put(x.permute(ints(info[1])), I(info, 2)));
  });
}

FN(Slice) {  // (x, begin, size) -> view
  return guard(info, [&]() -> Napi::Value {
    at::Tensor r = get(info[0]);
    auto begin = ints(info[1]);
    auto size = ints(info[2]);
    for (size_t d = 0; d < begin.size(); ++d) r = r.narrow(d, begin[d], size[d]);
    return NUM(put(std::move(r), I(info, 3)));
  });
}

FN(StridedSlice) {  // (x, begin, end, strides, finalShape): normalised by JS (slice_util)
  return guard(info, [&]() -> Napi::Value {
    at::Tensor r = get(info[0]);
    auto begin = ints(info[1]);
    auto end = ints(info[2]);
    auto strides = ints(info[3]);
    for (size_t d = 0; d < begin.size(); ++d) {
      int64_t s = strides[d];
      if (s > 0) {
        int64_t e = std::max(end[d], begin[d]);
        r = r.slice(d, begin[d], e, s);
      } else {
        // negative stride: flip, then walk forward
        int64_t n = r.size(d);
        int64_t b = n - 1 - begin[d];
        int64_t e = n - 1 - end[d];
        r = r.flip({static_cast<int64_t>(d)}).slice(d, b, std::max(e, b), -s);
      }
    }
    r = r.reshape(ints(info[4]));
    return NUM(put(std::move(r), I(info, 5)));
  });
}

FN(Concat) {  // (ids, axis, outDtype)
  return guard(info, [&]() -> Napi::Value {
    auto ts = tensors(info[0]);
    int out = I(info, 2);
    for (auto& t : ts) if (t.scalar_type() != toScalarType(out)) t = t.to(toScalarType(out));
    return NUM(put(at::cat(ts, I(info, 1)), out));
  });
}

FN(Stack) {  // (ids, axis, outDtype)
  return guard(info, [&]() -> Napi::Value {
    auto ts = tensors(info[0]);
    int out = I(info, 2);
    for (auto& t : ts) if (t.scalar_type() != toScalarType(out)) t = t.to(toScalarType(out));
    return NUM(put(at::stack(ts, I(info, 1)), out));
  });
}

Napi::Value idsOf(Napi::Env env, std::vector<at::Tensor> parts, int out) {
  auto arr = Napi::Array::New(env, parts.size());
  for (size_t i = 0; i < parts.size(); ++i) arr.Set(i, Napi::Number::New(env, put(std::move(parts[i]), out)));
  return arr;
}

FN(Unbind) {  // (x, axis, outDtype) -> ids
  return guard(info, [&]() -> Napi::Value {
    return idsOf(info.Env(), at::unbind(get(info[0]), I(info, 1)), I(info, 2));
  });
}

FN(SplitSizes) {  // (x, sizes, axis, outDtype) -> ids
  return guard(info, [&]() -> Napi::Value {
    return idsOf(info.Env(), at::split_with_sizes(get(info[0]), ints(info[1]), I(info, 2)), I(info, 3));
  });
}

FN(Tile) {
  return guard(info, [&]() -> Napi::Value { return NUM(put(get(info[0]).repeat(ints(info[1])), I(info, 2))); });
}

FN(Reverse) {
  return guard(info, [&]() -> Napi::Value {
    auto dims = ints(info[1]);
    const at::Tensor& x = get(info[0]);
    return NUM(put(dims.empty() ? x.clone() : at::flip(x, dims), I(info, 2)));
  });
}

FN(Pad) {  // (x, paddings flat [before0, after0, ...], value, outDtype, mode) mode 0 constant, 1 reflect, 2 symmetric
  return guard(info, [&]() -> Napi::Value {
    at::Tensor x = get(info[0]);
    auto p = ints(info[1]);
    double value = D(info, 2);
    int out = I(info, 3);
    int mode = I(info, 4);
    int64_t rank = x.dim();
    if (mode == 0) {
      std::vector<int64_t> tp;  // torch order: last dim first
      for (int64_t d = rank - 1; d >= 0; --d) {
        tp.push_back(p[2 * d]);
        tp.push_back(p[2 * d + 1]);
      }
      if (x.scalar_type() == at::kBool) x = x.to(at::kInt);
      return NUM(put(at::constant_pad_nd(x, tp, value), out));
    }
    // mirror padding by index gathering, one dimension at a time
    at::Tensor r = x;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t n = r.size(d), before = p[2 * d], after = p[2 * d + 1];
      if (before == 0 && after == 0) continue;
      std::vector<int64_t> idx;
      int64_t off = mode == 1 ? 1 : 0;
      for (int64_t i = before; i > 0; --i) idx.push_back(i - 1 + off);
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
      for (int64_t i = 0; i < after; ++i) idx.push_back(n - 1 - i - off);
      auto it = at::tensor(idx, at::TensorOptions().dtype(at::kLong)).to(r.device());
      r = at::index_select(r, d, it);
    }
    return NUM(put(std::move(r), out));
  });
}

FN(Gather) {  // (x, indices, axis, batchDims, outDtype)
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& x = get(info[0]);
    const at::Tensor& ind = get(info[1]);
    int64_t axis = I(info, 2);
    int64_t batchDims = I(info, 3);
    int out = I(info, 4);
    at::Tensor idx = ind.to(at::kLong);
    if (batchDims == 0) {
      auto flat = idx.reshape({-1});
      at::Tensor g = at::index_select(x, axis, flat);
      std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
      for (auto d : ind.sizes()) shape.push_back(d);
      for (int64_t d = axis + 1; d < x.dim(); ++d) shape.push_back(x.size(d));
      return NUM(put(g.reshape(shape), out));
    }
    // batchDims > 0: x [B..., outer..., N, inner...], indices [B..., I...]
    int64_t bsz = 1;
    for (int64_t d = 0; d < batchDims; ++d) bsz *= x.size(d);
    int64_t outer = 1;
    for (int64_t d = batchDims; d < axis; ++d) outer *= x.size(d);
    int64_t n = x.size(axis);
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.size(d);
    int64_t ni = idx.numel() / std::max<int64_t>(bsz, 1);
    at::Tensor xr = x.reshape({bsz, outer, n, inner});
    at::Tensor ir = idx.reshape({bsz, 1, ni, 1}).expand({bsz, outer, ni, inner});
    at::Tensor g = at::gather(xr, 2, ir);
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
    for (int64_t d = batchDims; d < ind.dim(); ++d) shape.push_back(ind.size(d));
    for (int64_t d = axis + 1; d < x.dim(); ++d) shape.push_back(x.size(d));
    return NUM(put(g.reshape(shape), out));
  });
}

FN(Range) {  // (start, stop, step, dtype)
  return guard(info, [&]() -> Napi::Value {
    int out = I(info, 3);
    double start = D(info, 0), stop = D(info, 1), step = D(info, 2);
    at::Tensor r;
    if ((step > 0 && start >= stop) || (step < 0 && start <= stop)) r = at::empty({0}, opts(out));
    else r = at::arange(start, stop, step, at::TensorOptions().dtype(at::kDouble).device(g_device));
    return NUM(put(std::move(r), out));
  });
}

FN(Fill) {  // (shape, value, dtype)
  return guard(info, [&]() -> Napi::Value {
    int out = I(info, 2);
    return NUM(put(at::full(ints(info[0]), D(info, 1), opts(out)), out));
  });
}

FN(Cast) {  // (x, dtype): float -> int truncates toward zero; -> bool is x != 0
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& x = get(info[0]);
    int out = I(info, 1);
    at::Tensor r = x;
    if (out == 2) r = x.ne(0);
    else if (out == 1 && at::isFloatingType(x.scalar_type())) r = at::trunc(x).to(at::kInt);
    else r = x.to(toScalarType(out));
    if (r.is_same(x)) r = x.clone();
    return NUM(put(std::move(r), out));
  });
}

FN(AddN) {  // (ids, outDtype)
  return guard(info, [&]() -> Napi::Value {
    auto ts = tensors(info[0]);
    at::Tensor r = ts[0];
    for (size_t i = 1; i < ts.size(); ++i) r = at::add(r, ts[i]);
    if (ts.size() == 1) r = r.clone();
    return NUM(put(std::move(r), I(info, 1)));
  });
}

FN(TopK) {  // (x, k, sorted) -> [values, indices]
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& x = get(info[0]);
    int64_t k = I(info, 1);
    at::Tensor src = x.scalar_type() == at::kBool ? x.to(at::kInt) : x;
    // a stable descending sort: equal values keep their order (tfjs returns the lower index first)
    auto sorted = at::sort(src, /*stable=*/true, /*dim=*/-1, /*descending=*/true);
    auto res = std::make_tuple(std::get<0>(sorted).narrow(-1, 0, k), std::get<1>(sorted).narrow(-1, 0, k));
    int out = x.scalar_type() == at::kInt ? 1 : (x.scalar_type() == at::kBool ? 1 : 0);
    auto arr = Napi::Array::New(info.Env(), 2);
    arr.Set(0u, NUM(put(std::get<0>(res), out)));
    arr.Set(1u, NUM(put(std::get<1>(res), 1)));
    return arr;
  });
}

FN(Select) {  // (condition, a, b, outDtype): tfjs allows a rank-1 condition selecting rows
  return guard(info, [&]() -> Napi::Value {
    at::Tensor c = get(info[0]).to(at::kBool);
    const at::Tensor& a = get(info[1]);
    const at::Tensor& b = get(info[2]);
    if (c.dim() == 1 && a.dim() > 1) {
      std::vector<int64_t> s(a.dim(), 1);
      s[0] = c.size(0);
      c = c.reshape(s);
    }
    return NUM(put(at::where(c, a, b), I(info, 3)));
  });
}

FN(OneHot) {  // (indices, depth, on, off, dtype)
  return guard(info, [&]() -> Napi::Value {
    at::Tensor ind = get(info[0]).to(at::kLong);
    int64_t depth = I(info, 1);
    double on = D(info, 2), off = D(info, 3);
    int out = I(info, 4);
    at::Tensor valid = (ind >= 0).logical_and(ind < depth);
    at::Tensor safe = at::where(valid, ind, at::zeros_like(ind));
    at::Tensor oh = at::one_hot(safe, depth).logical_and(valid.unsqueeze(-1));
    at::Tensor r = at::where(oh, at::scalar_tensor(on, at::TensorOptions().dtype(at::kDouble).device(g_device)),
                             at::scalar_tensor(off, at::TensorOptions().dtype(at::kDouble).device(g_device)));
    return NUM(put(std::move(r), out));
  });
}

FN(SegmentSum) {  // (x, segmentIds (rank 1 over axis 0), numSegments, outDtype)
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& x = get(info[0]);
    at::Tensor ids = get(info[1]).to(at::kLong).reshape({-1});
    int64_t num = I(info, 2);
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
    int64_t idRank = get(info[1]).dim();
    at::Tensor xs = x.reshape([&] {
      std::vector<int64_t> s{ids.numel()};
      for (int64_t d = idRank; d < x.dim(); ++d) s.push_back(x.size(d));
      return s;
    }());
    std::vector<int64_t> outShape{num};
    for (int64_t d = idRank; d < x.dim(); ++d) outShape.push_back(x.size(d));
    at::Tensor valid = (ids >= 0).logical_and(ids < num);
    at::Tensor keep = at::nonzero(valid).reshape({-1});
    at::Tensor r = at::zeros(outShape, xs.options()).index_add(0, ids.index_select(0, keep), xs.index_select(0, keep));
    return NUM(put(std::move(r), I(info, 3)));
  });
}

FN(Clip) {  // (x, lo, hi, outDtype)
  return guard(info, [&]() -> Napi::Value {
    return NUM(put(at::clamp(get(info[0]), D(info, 1), D(info, 2)), I(info, 3)));
  });
}

FN(Cumsum) {  // (x, axis, exclusive, reverse, outDtype) ; prod when info[5] true
  return guard(info, [&]() -> Napi::Value {
    at::Tensor x = get(info[0]);
    int64_t axis = I(info, 1);
    bool exclusive = B(info, 2), reverse = B(info, 3);
    int out = I(info, 4);
    bool prod = info.Length() > 5 && B(info, 5);
    if (reverse) x = x.flip({axis});
    at::Tensor r = prod ? at::cumprod(x, axis) : at::cumsum(x, axis);
    if (exclusive) {
      int64_t n = x.size(axis);
      at::Tensor head = prod ? at::ones_like(x.narrow(axis, 0, std::min<int64_t>(1, n)))
                             : at::zeros_like(x.narrow(axis, 0, std::min<int64_t>(1, n)));
      r = n == 0 ? r : at::cat({head, r.narrow(axis, 0, n - 1)}, axis);
    }
    if (reverse) r = r.flip({axis});
    return NUM(put(std::move(r), out));
  });
}

FN(Prelu) {
  return guard(info, [&]() -> Napi::Value {
    const at::Tensor& x = get(info[0]);
    const at::Tensor& a = get(info[1]);
    return NUM(put(at::where(x > 0, x, at::mul(x, a)), 0));
  });
}

FN(Conv2D) {  // (x NHWC, filter HWIO, strides[2], pads [top,bottom,left,right], dilations[2], groups)
  return guard(info, [&]() -> Napi::Value {
    at::Tensor x = get(info[0]).permute({0, 3, 1, 2});
    at::Tensor w = get(info[1]).permute({3, 2, 0, 1});
    auto s = ints(info[2]);
    auto p = ints(info[3]);
    auto dl = ints(info[4]);
    int64_t groups = I(info, 5);
    if (p[0] != p[1] || p[2] != p[3]) {
      x = at::constant_pad_nd(x, {p[2], p[3], p[0], p[1]}, 0);
      p = {0, 0, 0, 0};
    }
    at::Tensor r = at::conv2d(x, w, {}, s, {p[0], p[2]}, dl, groups);
    return NUM(put(r.permute({0, 2, 3, 1}), 0));
  });
}

#undef FN

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static bool forkHandlers = false;  // once per process, even when several environments load the addon
  if (!forkHandlers) {
    forkHandlers = true;
    if (pthread_atfork(forkPrepare, forkParent, forkChild) != 0) {
      throw Napi::Error::New(env, "lss_torch: pthread_atfork failed (out of memory?)");
    }
  }
#define EXPORT(name, fn) exports.Set(name, Napi::Function::New(env, fn, name))
  EXPORT("setMeta", SetMeta);
  EXPORT("fromArray", FromArray);
  EXPORT("read", Read);
  EXPORT("readAsync", ReadAsync);
  EXPORT("free", Free);
  EXPORT("freeAll", FreeAll);
  EXPORT("stats", Stats);
  EXPORT("shapeOf", ShapeOf);
  EXPORT("setThreads", SetThreads);
  EXPORT("getThreads", GetThreads);
  EXPORT("setDevice", SetDevice);
  EXPORT("hasCuda", HasCuda);
  EXPORT("sync", Sync);
  EXPORT("config", Config);
  EXPORT("unary", Unary);
  EXPORT("binary", Binary);
  EXPORT("reduce", Reduce);
  EXPORT("argReduce", ArgReduce);
  EXPORT("softmax", Softmax);
  EXPORT("matMul", MatMul);
  EXPORT("reshape", Reshape);
  EXPORT("transpose", Transpose);
  EXPORT("slice", Slice);
  EXPORT("stridedSlice", StridedSlice);
  EXPORT("concat", Concat);
  EXPORT("stack", Stack);
  EXPORT("unbind", Unbind);
  EXPORT("splitSizes", SplitSizes);
  EXPORT("tile", Tile);
  EXPORT("reverse", Reverse);
  EXPORT("pad", Pad);
  EXPORT("gather", Gather);
  EXPORT("range", Range);
  EXPORT("fill", Fill);
  EXPORT("cast", Cast);
  EXPORT("addN", AddN);
  EXPORT("topK", TopK);
  EXPORT("select", Select);
  EXPORT("oneHot", OneHot);
  EXPORT("segmentSum", SegmentSum);
  EXPORT("clip", Clip);
  EXPORT("cumsum", Cumsum);
  EXPORT("prelu", Prelu);
  EXPORT("conv2d", Conv2D);
#undef EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(lss_torch, Init)
