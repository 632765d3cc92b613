//! The event router's cost per event over a direct handler (issue 10; goal: under
//! 50 ns), side by side in one run.
//!
//! Run with `cargo bench -p hookgate-bench --bench router`; results are in
//! `BENCHMARKS.md`, "Router".
//!
//! Both sides take the same parsed [`Delivery`] (built outside the timed code) and
//! end with the same 200 [`Reply`]:
//!
//! - `direct`: what a handler without a router does: `Delivery::into_typed` into
//!   `CloudEvent<Order>`, the handler awaited for each event, `Reply::new(200)`;
//! - `routed_2`: [`EventRouter::dispatch`] with 2 exact routes (the handler's type
//!   among them);
//! - `routed_20_exact`: 20 routes (10 exact types, 8 type prefixes, 2 subject
//!   prefixes), the event's type one of the exact ones;
//! - `routed_20_prefix`: the same 20 routes, the event's type found by the
//!   shortest type prefix after a missed binary search and a scan of the longer
//!   prefixes (the slowest match of that table).
//!
//! Each group is one delivery shape: `one_event` (a structured event) and
//! `batch_10` (ten events; divan's counter gives the time per event). The
//! `matching` group times [`EventRouter::route_of`] alone.
//!
//! The handler is the same async function everywhere; its futures complete at the
//! first poll, polled here with a no-op waker (no runtime in the timed code).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use hookgate_core::route::{EventRouter, Route};
use hookgate_core::{CloudEvent, Data, Delivery, Mode, Reply};

fn main() {
    divan::Divan::default()
        .sample_count(1000)
        .config_with_args()
        .main();
}

#[derive(serde::Deserialize)]
struct Order {
    #[serde(rename = "orderId")]
    order_id: String,
}

async fn handle(event: CloudEvent<Order>) {
    black_box(&event.data.order_id);
}

/// Runs a future that completes at its first poll.
fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the benchmark's futures complete at once"),
    }
}

const EXACT_TYPE: &str = "com.example.order.created";
const PREFIX_TYPE: &str = "com.example.audit.entry.written";

fn event(id: usize, ty: &str) -> CloudEvent {
    let mut event = CloudEvent::new(id.to_string(), "/shop/orders", ty)
        .with_data(Data::json(r#"{"orderId":"o-1234","total":12.5}"#).unwrap());
    event = black_box(event);
    event
}

fn delivery(events: usize, ty: &str) -> Delivery {
    let mode = if events == 1 {
        Mode::Structured
    } else {
        Mode::Batch
    };
    Delivery::new(mode, (0..events).map(|i| event(i, ty)).collect())
}

fn two_routes() -> EventRouter {
    EventRouter::builder()
        .on(EXACT_TYPE, handle)
        .on("com.example.order.shipped", handle)
        .build()
        .unwrap()
}

fn twenty_routes() -> EventRouter {
    let mut builder = EventRouter::builder();
    for ty in [
        "com.example.order.cancelled",
        EXACT_TYPE,
        "com.example.order.paid",
        "com.example.order.refunded",
        "com.example.order.shipped",
        "com.example.user.created",
        "com.example.user.deleted",
        "com.example.user.renamed",
        "Microsoft.Storage.BlobCreated",
        "Microsoft.Storage.BlobDeleted",
    ] {
        builder = builder.on(ty, handle);
    }
    for prefix in [
        "com.example.order.",
        "com.example.user.",
        "com.example.invoice.",
        "com.example.shipping.label.",
        "Microsoft.Storage.",
        "Microsoft.Resources.",
        "Microsoft.KeyVault.",
        "com.example.",
    ] {
        builder = builder.on_prefix(prefix, handle);
    }
    builder
        .route(Route::prefix("").subject_prefix("/audit/"), handle)
        .route(Route::exact(EXACT_TYPE).subject_prefix("/vip/"), handle)
        .build()
        .unwrap()
}

fn direct(delivery: Delivery) -> Reply {
    now(async move {
        let Ok(events) = delivery.into_typed::<Order>() else {
            return Reply::new(400);
        };
        for event in events {
            handle(event).await;
        }
        Reply::new(200)
    })
}

fn routed(router: &EventRouter, delivery: Delivery) -> Reply {
    now(router.dispatch(delivery, ()))
}

fn run(bencher: Bencher, events: usize, ty: &'static str, router: Option<EventRouter>) {
    let bencher = bencher
        .counter(ItemsCount::new(events))
        .with_inputs(move || delivery(events, ty));
    match router {
        None => bencher.bench_local_values(|d| assert_eq!(direct(d).status(), 200)),
        Some(router) => {
            bencher.bench_local_values(move |d| assert_eq!(routed(&router, d).status(), 200));
        }
    }
}

#[divan::bench_group(sample_size = 100)]
mod one_event {
    use super::*;

    #[divan::bench]
    fn direct(bencher: Bencher) {
        run(bencher, 1, EXACT_TYPE, None);
    }

    #[divan::bench]
    fn routed_2(bencher: Bencher) {
        run(bencher, 1, EXACT_TYPE, Some(two_routes()));
    }

    #[divan::bench]
    fn routed_20_exact(bencher: Bencher) {
        run(bencher, 1, EXACT_TYPE, Some(twenty_routes()));
    }

    #[divan::bench]
    fn routed_20_prefix(bencher: Bencher) {
        run(bencher, 1, PREFIX_TYPE, Some(twenty_routes()));
    }
}

#[divan::bench_group(sample_size = 10)]
mod batch_10 {
    use super::*;

    #[divan::bench]
    fn direct(bencher: Bencher) {
        run(bencher, 10, EXACT_TYPE, None);
    }

    #[divan::bench]
    fn routed_2(bencher: Bencher) {
        run(bencher, 10, EXACT_TYPE, Some(two_routes()));
    }

    #[divan::bench]
    fn routed_20_exact(bencher: Bencher) {
        run(bencher, 10, EXACT_TYPE, Some(twenty_routes()));
    }

    #[divan::bench]
    fn routed_20_prefix(bencher: Bencher) {
        run(bencher, 10, PREFIX_TYPE, Some(twenty_routes()));
    }
}

#[divan::bench_group(sample_size = 1000)]
mod matching {
    use super::*;

    #[divan::bench]
    fn routes_2_exact(bencher: Bencher) {
        let router = two_routes();
        bencher.bench_local(|| router.route_of(black_box(EXACT_TYPE), black_box(None)));
    }

    #[divan::bench]
    fn routes_20_exact(bencher: Bencher) {
        let router = twenty_routes();
        bencher.bench_local(|| router.route_of(black_box(EXACT_TYPE), black_box(None)));
    }

    #[divan::bench]
    fn routes_20_prefix(bencher: Bencher) {
        let router = twenty_routes();
        bencher.bench_local(|| router.route_of(black_box(PREFIX_TYPE), black_box(None)));
    }
}
