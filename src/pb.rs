//! Generated protobuf types and gRPC stubs for `tradescreen.v1`.
#![allow(clippy::all, clippy::pedantic, missing_docs)]

tonic::include_proto!("tradescreen.v1");

/// Encoded `FileDescriptorSet` of the public contract, for reflection and proto3 JSON.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tradescreen_descriptor.bin"));
