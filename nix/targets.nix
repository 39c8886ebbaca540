# The build matrix, as plain data: evaluable with no flake inputs (CI checks it
# offline with `nix eval --impure --expr '(import ./nix/targets.nix)'`).
{
  systems = [ "x86_64-linux" "aarch64-linux" ];

  # What runs where. `airborne` runs on the Jetson; `operator` on the ground workstation.
  binaries = {
    airborne = { bazelTarget = "//python:airborne"; systems = [ "x86_64-linux" "aarch64-linux" ]; };
    operator = { bazelTarget = "//python:operator"; systems = [ "x86_64-linux" ]; };
    demo = { bazelTarget = "//python:demo"; systems = [ "x86_64-linux" ]; };
  };

  jetson = {
    som = "orin-agx";            # jetpack-nixos: orin-agx | orin-nx | orin-nano
    carrierBoard = "devkit";
    bazelConfig = "jetson";      # ./tools/bazel build --config=jetson //python:airborne
    interpreterLink = "/opt/gps_denied_onboard/python";  # toolchains/python:jetson_runtime
    serviceName = "gdn-airborne";
    configPath = "/etc/gdn/airborne.yaml";
    flightRoot = "/var/lib/gdn/flights";
  };

  # Python packages of the locked environment that nixpkgs provides under these
  # attribute names (third_party/python/requirements.in is the source of truth).
  pythonPackages = {
    airborne = [ "numpy" "opencv4" "pyyaml" "pymavlink" "cryptography" "onnxruntime" "filelock" "orjson" ];
    operator = [ "rasterio" "mcap" "tqdm" "onnx" "matplotlib" "requests" "psutil" "pillow" ];
    test = [ "pytest" "pytest-xdist" "pytest-timeout" "hypothesis" "mypy" ];
    gpu = [ "pycuda" ];         # optional, CUDA hosts only (TensorRT comes from JetPack)
  };
}
