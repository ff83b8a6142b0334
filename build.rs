//! Builds the TensorRT wrapper (`trt/shim.cpp`) when the `tensorrt` feature is on and TensorRT's
//! headers are found (TENSORRT_ROOT, or JetPack's/Ubuntu's system include paths).

fn main() {
    println!("cargo:rerun-if-changed=trt/shim.cpp");
    println!("cargo:rerun-if-env-changed=TENSORRT_ROOT");
    // Only a build with the `tensorrt` feature compiles the wrapper.
    #[cfg(feature = "tensorrt")]
    tensorrt::build();
}

#[cfg(feature = "tensorrt")]
mod tensorrt {
    use std::path::PathBuf;

    pub fn build() {
        let root = std::env::var("TENSORRT_ROOT").ok().map(PathBuf::from);
        // The target's architecture (a build script's own cfg! is the host's).
        let target_arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
        let arch = if target_arch == "aarch64" { "aarch64-linux-gnu" } else { "x86_64-linux-gnu" };
        let mut includes: Vec<PathBuf> = root.iter().map(|r| r.join("include")).collect();
        includes.push(PathBuf::from(format!("/usr/include/{arch}")));
        includes.push(PathBuf::from("/usr/include"));
        let Some(inc) = includes.into_iter().find(|p| p.join("NvInfer.h").is_file()) else {
            println!(
                "cargo:warning=feature `tensorrt`: NvInfer.h not found (set TENSORRT_ROOT); the TensorRT wrapper is not built and linking will fail"
            );
            return;
        };
        let cuda = std::env::var("CUDA_HOME").unwrap_or_else(|_| "/usr/local/cuda".into());
        cc::Build::new()
            .cpp(true)
            .std("c++17")
            .file("trt/shim.cpp")
            .include(&inc)
            .include(format!("{cuda}/include"))
            .compile("footrackd_trt");
        if let Some(r) = root {
            println!("cargo:rustc-link-search=native={}", r.join("lib").display());
        }
        println!("cargo:rustc-link-search=native=/usr/lib/{arch}");
        println!("cargo:rustc-link-search=native={cuda}/lib64");
        println!("cargo:rustc-link-lib=dylib=nvinfer");
        println!("cargo:rustc-link-lib=dylib=cudart");
    }
}
