# Sourced by the measurement scripts (from the repository root): ONNX Runtime from the project's
# .venv, the release binary ($FOOTRACKD_BIN to override), a scratch folder ($work) and a broker on it.
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$PWD"/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n1)}"
bin="${FOOTRACKD_BIN:-${CARGO_TARGET_DIR:-target}/release/footrackd}"
work="$(mktemp -d)"
. scripts/lib/broker.sh
start_broker "$work"
