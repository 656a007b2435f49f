{
  "targets": [
    {
      "target_name": "numaplace",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/affinity.cc",
            "native/alloc.cc",
            "native/binding.cc",
            "native/cpu.cc",
            "native/errors.cc",
            "native/move.cc",
            "native/policy.cc",
            "native/process.cc",
            "native/query.cc",
            "native/view.cc",
            "native/numa/affinity.cc",
            "native/numa/alloc.cc",
            "native/numa/cpu.cc",
            "native/numa/frames.cc",
            "native/numa/migrate.cc",
            "native/numa/pages.cc",
            "native/numa/policy.cc"
          ],
          "include_dirs": ["native"],
          "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
          "defines": ["NAPI_VERSION=8"],
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
