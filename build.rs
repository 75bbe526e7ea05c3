//! Compiles the public contract in `proto/` with protox (pure Rust, no system protoc) and
//! tonic-prost-build, and writes the encoded descriptor set that gRPC reflection and the
//! proto3-JSON `screen` command use.
use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "proto/tradescreen/v1/types.proto",
    "proto/tradescreen/v1/screening_service.proto",
    "proto/tradescreen/v1/audit_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    fs::write(
        out_dir.join("tradescreen_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
