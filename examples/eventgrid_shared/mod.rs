//! The event router of the Event Grid examples, shared by both: typed handlers for
//! `com.example.order.created` and `com.example.order.shipped`, and a fallback that
//! acknowledges and logs every other type.
//!
//! Each event handled is printed to stdout as one JSON line:
//! `{"handler": "created"|"shipped"|"unrouted", "deliveryCount": <aeg-delivery-count
//! or null>, "event": <the event in the CloudEvents JSON format>}`.

use std::io::Write as _;
use std::ops::Deref;

use hookgate::eventgrid::EventGridDelivery;
use hookgate::route::{EventRouter, HandlerError};
use hookgate::{CloudEvent, Data};
use serde_json::{Map, Value};

/// The data of the order events: an `orderId` string, and whatever else the sender
/// put there (kept, so that the event printed is the event received).
#[derive(serde::Deserialize, serde::Serialize)]
pub(crate) struct Order {
    #[serde(rename = "orderId")]
    order_id: String,
    #[serde(flatten)]
    rest: Map<String, Value>,
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
    let line = format!(
        r#"{{"handler":{},"deliveryCount":{count},"event":{}}}"#,
        Value::from(handler),
        event.to_json()
    );
    let mut out = std::io::stdout().lock();
    // A closed stdout must not take the receiver down with it: the event was handled.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    Ok(())
}

/// An order event printed as received: its typed data back to JSON.
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
