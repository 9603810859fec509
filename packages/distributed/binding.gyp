{
  "targets": [
    {
      "target_name": "lss_distributed",
      "sources": ["native/process_group.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node scripts/libtorch.mjs --include)"],
      "defines": ["NAPI_VERSION=8", "USE_C10D_GLOO", "NAPI_CPP_EXCEPTIONS", "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/libtorch.mjs --abi)"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<!(node scripts/libtorch.mjs --libdir)",
        "-Wl,-rpath,<!(node scripts/libtorch.mjs --libdir)",
        "-ltorch_cpu", "-lc10"
      ]
    }
  ]
}
