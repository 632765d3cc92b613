//! The event router of the Event Grid examples, shared by both: typed handlers for
//! `com.example.order.created` and `com.example.order.shipped`, and a fallback that
//! acknowledges and logs every other type.
//!
//! Each event handled is printed to stdout as one JSON line:
//! `{"handler": "created"|"shipped"|"unrouted", "deliveryCount": <aeg-delivery-count
//! or null>, "event": <the event in the CloudEvents JSON format>}`; an order event's
//! data as its handler read it (the members `Order` names).

use std::io::Write as _;
use std::ops::Deref;

use hookgate::eventgrid::EventGridDelivery;
use hookgate::route::{EventRouter, HandlerError};
use hookgate::{CloudEvent, Data};

/// The data of the order events: an `orderId` string and a `total` number, if given.
///
/// Members it does not name are skipped while parsing, never kept: serde reads past
/// them without allocating. (A `#[serde(flatten)] rest: Map<String, Value>` catch-all
/// would cost 18 to 21 times the body in heap for a megabyte of small members, and
/// `flatten` buffers every member before it sorts them out; name what you use, or
/// take `CloudEvent<Data>` and keep the data as the raw JSON it came as.)
#[derive(serde::Deserialize, serde::Serialize)]
pub(crate) struct Order {
    #[serde(rename = "orderId")]
    order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<f64>,
}

/// The longest `orderId` accepted, in bytes.
const MAX_ORDER_ID: usize = 128;

/// The JSON line printed for an event, members in the documented order.
#[derive(serde::Serialize)]
struct Line<'a> {
    handler: &'a str,
    #[serde(rename = "deliveryCount")]
    delivery_count: Option<u32>,
    event: &'a CloudEvent,
}

/// Prints the line of an event handled by `handler`, the event as `CloudEvent`
/// serializes it (what `CloudEvent::to_json` writes).
fn print(
    handler: &str,
    delivery: &EventGridDelivery,
    event: &CloudEvent,
) -> Result<(), HandlerError> {
    let line = Line {
        handler,
        delivery_count: delivery.delivery_count(),
        event,
    };
    let mut out = std::io::stdout().lock();
    // Written straight to stdout (the lock keeps the line whole): no copy of the
    // event as a `String` first. A closed stdout must not take the receiver down
    // with it: the event was handled.
    let _ = serde_json::to_writer(&mut out, &line)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    Ok(())
}

/// An order event printed: its typed data back to JSON.
fn print_order(
    handler: &str,
    delivery: &EventGridDelivery,
    event: CloudEvent<Order>,
) -> Result<(), HandlerError> {
    if event.data.order_id.is_empty() {
        return Err(HandlerError::new(400, "the orderId must not be empty"));
    }
    // Bound what is kept and printed: an order id is short, a megabyte one is not.
    if event.data.order_id.len() > MAX_ORDER_ID {
        return Err(HandlerError::new(
            400,
            format!("the orderId must be at most {MAX_ORDER_ID} bytes"),
        ));
    }
    let data = Data::json(serde_json::to_string(&event.data)?)?;
    print(handler, delivery, &event.with_data(data))
}

/// The router; `D` is the framework's `eventgrid::Delivery` extractor, the context
/// each handler gets.
pub(crate) fn router<D>() -> EventRouter<D>
where
    D: Deref<Target = EventGridDelivery> + Clone + Send + Sync + 'static,
{
    EventRouter::builder()
        .on(
            "com.example.order.created",
            |event: CloudEvent<Order>, delivery: D| async move {
                print_order("created", &delivery, event)
            },
        )
        .on(
            "com.example.order.shipped",
            |event: CloudEvent<Order>, delivery: D| async move {
                print_order("shipped", &delivery, event)
            },
        )
        .fallback(|event: CloudEvent, delivery: D| async move {
            eprintln!(
                "info: no handler for events of type {:?} (id {:?}); acknowledged",
                event.ty(),
                event.id()
            );
            print("unrouted", &delivery, &event)
        })
        .build()
        .unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2)
        })
}
