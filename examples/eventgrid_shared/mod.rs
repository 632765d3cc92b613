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
use serde_json::Value;

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

/// Prints the line of an event handled by `handler`, members in the documented
/// order, the event as `CloudEvent::to_json` writes it.
fn print(
    handler: &str,
    delivery: &EventGridDelivery,
    event: &CloudEvent,
) -> Result<(), HandlerError> {
    let count = delivery
        .delivery_count()
        .map_or_else(|| "null".to_owned(), |n| n.to_string());
    let mut out = std::io::stdout().lock();
    // Written in place (the lock keeps the line whole): no second copy of the event.
    // A closed stdout must not take the receiver down with it: the event was handled.
    let _ = writeln!(
        out,
        r#"{{"handler":{},"deliveryCount":{count},"event":{}}}"#,
        Value::from(handler),
        event.to_json()
    )
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
