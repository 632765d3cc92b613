//! Shared test support: the two apps and the request vectors.

#![allow(dead_code, unreachable_pub)]

pub mod apps;
pub mod vectors;
