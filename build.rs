//! Sets the shared library's soname: `libfilter.so.0.MINOR` before 1.0,
//! `libfilter.so.MAJOR` after (../shared/DESIGN.md, "C ABI conventions").
//! The Makefile installs the library under that name.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os.ends_with("bsd") {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        let minor = env!("CARGO_PKG_VERSION_MINOR");
        let abi = if major == "0" {
            format!("0.{minor}")
        } else {
            major.to_string()
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libfilter.so.{abi}");
    }
}
