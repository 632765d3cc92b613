//! Shared test support: the two apps, the request vectors, a local OIDC issuer and a
//! Redis server.

#![allow(dead_code, unreachable_pub)]

pub mod apps;
pub mod oidc;
pub mod redis;
pub mod vectors;
