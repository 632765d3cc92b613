//! Parsing benchmarks (filled in by the benchmark work of issue 2).

fn main() {}
