{
  "targets": [
    {
      "target_name": "numaplace",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/affinity.cc",
            "native/alloc.cc",
            "native/args.cc",
            "native/binding.cc",
            "native/constants.cc",
            "native/exec.cc",
            "native/jobs.cc",
            "native/migrate.cc",
            "native/pages.cc",
            "native/policy.cc",
            "native/process.cc",
            "native/numa/affinity.cc",
            "native/numa/alloc.cc",
            "native/numa/exec.cc",
            "native/numa/migrate.cc",
            "native/numa/pagemap.cc",
            "native/numa/policy.cc",
            "native/numa/process.cc",
            "native/numa/query.cc",
            "native/numa/span.cc"
          ],
          "include_dirs": ["native"],
          # Every C++ exception, not only Napi::Error, becomes a JS error (std::bad_alloc
          # from a huge argument list, say) instead of terminating the process.
          "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"],
          # A worker thread terminated with async work in flight settles that
          # work in an environment that can no longer run JS: node-addon-api
          # then drops the resulting exception instead of aborting the process.
          "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
          "cflags_cc": ["-Wall", "-Wextra", "-std=c++17"]
        }, {
          # The calls are Linux system calls: elsewhere nothing is built, the
          # install still succeeds and the JS layer reports ENOTSUP.
          "type": "none"
        }]
      ]
    }
  ]
}
