//! Parsing benchmarks (issue 2): the same requests parsed by hookgate, by
//! `cloudevents-sdk` 0.9 and by a plain `serde_json` floor.
//!
//! Run with `cargo bench -p hookgate-bench --bench parse`. The requests, the three
//! parsers and what one iteration includes are described in the `hookgate_bench`
//! crate docs; results are in `BENCHMARKS.md` at the workspace root.
//!
//! Each group is one case (`structured`, `binary`, `batch`, each also `_typed`,
//! where the data is deserialized into `hookgate_bench::Order`) and holds one
//! benchmark per parser: `floor`, `hookgate`, `sdk`. Every benchmark returns
//! nothing: the result is dropped inside the timed code (`black_box_drop`),
//! because freeing what a parser allocated is part of its cost.

use divan::{Bencher, black_box, black_box_drop};
use hookgate_bench::{Case, Request, floor, hookgate, sdk};

fn main() {
    // Every group sets `sample_size` (iterations per timed sample): divan's own
    // tuning often stops at 1 for a ~1 µs body, too close to the 20 ns timer
    // precision. 100 iterations for the single-event groups, 10 for the batch
    // groups (50-450 µs each), so that every sample lasts 0.02-5 ms.
    //
    // 1000 samples instead of divan's 100: steadier medians on a shared machine, and
    // the whole run still takes well under a minute. Command-line options
    // (`--sample-count`, filters, ...) still take precedence.
    divan::Divan::default()
        .sample_count(1000)
        .config_with_args()
        .main();
}

/// Measures `$parse` on the request of `$case`, built once outside the timed code.
/// (A macro, not a function: the floor's results borrow from the request, which a
/// generic `Fn(&Request) -> T` cannot express.)
macro_rules! run {
    ($bencher:expr, $case:expr, $parse:path) => {{
        let req: Request = $case.request();
        $bencher.bench(|| black_box_drop($parse(black_box(&req))));
    }};
}

/// One event of about 600 bytes in `application/cloudevents+json`.
#[divan::bench_group(sample_size = 100)]
mod structured {
    use super::*;

    #[divan::bench]
    fn hookgate(b: Bencher<'_, '_>) {
        run!(b, Case::Structured, hookgate::one);
    }

    #[divan::bench]
    fn sdk(b: Bencher<'_, '_>) {
        run!(b, Case::Structured, sdk::one);
    }

    #[divan::bench]
    fn floor(b: Bencher<'_, '_>) {
        run!(b, Case::Structured, floor::structured);
    }
}

/// The structured event with its data deserialized into `Order`.
#[divan::bench_group(sample_size = 100)]
mod structured_typed {
    use super::*;

    #[divan::bench]
    fn hookgate(b: Bencher<'_, '_>) {
        run!(b, Case::Structured, hookgate::one_typed);
    }

    #[divan::bench]
    fn sdk(b: Bencher<'_, '_>) {
        run!(b, Case::Structured, sdk::one_typed);
    }

    #[divan::bench]
    fn floor(b: Bencher<'_, '_>) {
        run!(b, Case::Structured, floor::structured_typed);
    }
}

/// The same event in binary mode: `ce-` headers, its JSON data as the body.
#[divan::bench_group(sample_size = 100)]
mod binary {
    use super::*;

    #[divan::bench]
    fn hookgate(b: Bencher<'_, '_>) {
        run!(b, Case::Binary, hookgate::one);
    }

    #[divan::bench]
    fn sdk(b: Bencher<'_, '_>) {
        run!(b, Case::Binary, sdk::one);
    }

    #[divan::bench]
    fn floor(b: Bencher<'_, '_>) {
        run!(b, Case::Binary, floor::binary);
    }
}

/// The binary-mode event with its data deserialized into `Order`.
#[divan::bench_group(sample_size = 100)]
mod binary_typed {
    use super::*;

    #[divan::bench]
    fn hookgate(b: Bencher<'_, '_>) {
        run!(b, Case::Binary, hookgate::one_typed);
    }

    #[divan::bench]
    fn sdk(b: Bencher<'_, '_>) {
        run!(b, Case::Binary, sdk::one_typed);
    }

    #[divan::bench]
    fn floor(b: Bencher<'_, '_>) {
        run!(b, Case::Binary, floor::binary_typed);
    }
}

/// 100 such events in `application/cloudevents-batch+json` (the SDK has no batch
/// receive: `serde_json::from_slice::<Vec<cloudevents::Event>>`).
#[divan::bench_group(sample_size = 10)]
mod batch {
    use super::*;

    #[divan::bench]
    fn hookgate(b: Bencher<'_, '_>) {
        run!(b, Case::Batch, hookgate::batch);
    }

    #[divan::bench]
    fn sdk(b: Bencher<'_, '_>) {
        run!(b, Case::Batch, sdk::batch);
    }

    #[divan::bench]
    fn floor(b: Bencher<'_, '_>) {
        run!(b, Case::Batch, floor::batch);
    }
}

/// The batch with every event's data deserialized into `Order`.
#[divan::bench_group(sample_size = 10)]
mod batch_typed {
    use super::*;

    #[divan::bench]
    fn hookgate(b: Bencher<'_, '_>) {
        run!(b, Case::Batch, hookgate::batch_typed);
    }

    #[divan::bench]
    fn sdk(b: Bencher<'_, '_>) {
        run!(b, Case::Batch, sdk::batch_typed);
    }

    #[divan::bench]
    fn floor(b: Bencher<'_, '_>) {
        run!(b, Case::Batch, floor::batch_typed);
    }
}
