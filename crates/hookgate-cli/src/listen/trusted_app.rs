//! A `trusted_app` route: each Trusted Application API callback (a UCWA event
//! envelope, plain JSON) becomes one CloudEvent per UCWA event for the route's
//! sink, and the callback is answered as the library answers it.
//!
//! The mapping (one event per entry of each sender's `events`, in the body's
//! order):
//!
//! | attribute | value |
//! |---|---|
//! | `id` | the envelope's `_links.self.href` (its `ack` number) and the event's index: `/platformservice/v1/applications/1393347000/events?ack=7#0` |
//! | `source` | the sender's `href`, absolute with the envelope's `baseuri` when given |
//! | `type` | the event's `link.rel` and its `type`: `ms:rtc:saas:message.completed` (`resource.<type>` without a `rel`) |
//! | `subject` | the event's `link.href` |
//! | `datacontenttype` | `application/json` |
//! | data | the UCWA event as received (`link`, `in`, `type`, `status`, `_embedded`, and every other member) |
//! | `ucwasender` | the sender's `rel` (`ms:rtc:saas:conversation`, ...) |
//! | `ucwacontext` | the callback's `callbackContext`, when it has one |
//!
//! The answer: the sink's own when it gives a body (a `--forward` downstream may
//! answer `{"CallbackContext": "..."}` itself); otherwise, for a callback that
//! came with a `callbackContext`, 200 `{"CallbackContext": "<the same>"}`, so that
//! the conversation keeps it; otherwise the sink's status. An envelope with no
//! event is answered at once. A sink that fails answers 503 as on any route: the
//! service retries. The route does not deduplicate (UCWA events carry no id).

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse as _, Response};
use hookgate::auth::Identity;
use hookgate::tower::{CallbackContext, Ucwa};
use hookgate::trusted_app::{UcwaEnvelope, UcwaEvent, UcwaSender};
use hookgate::{CloudEvent, Data, Delivery, Mode};

use super::handler::{Route, respond};

/// `POST {path}` of a `trusted_app` route, behind the webhook layer (its
/// authentication).
pub(crate) async fn receive(
    State(route): State<Arc<Route>>,
    context: Option<CallbackContext>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let identity = parts.extensions.remove::<Identity>();
    let headers = parts.headers.clone();
    let request = Request::from_parts(parts, body);
    let envelope = match <Ucwa<UcwaEnvelope> as FromRequest<()>>::from_request(request, &()).await {
        Ok(Ucwa(envelope)) => envelope,
        Err(rejection) => return rejection.into_response(),
    };
    let context = context.map(|c| c.0);
    let events = match events(&envelope, context.as_deref()) {
        Ok(events) => events,
        Err(why) => {
            let problem = hookgate::Problem::new(
                400,
                "invalid-callback",
                "The callback cannot be handed over",
                &why,
            );
            return respond(hookgate::tower::problem_response(&problem));
        }
    };
    let answer = if events.is_empty() {
        http::StatusCode::OK.into_response()
    } else {
        let mode = if events.len() == 1 {
            Mode::Structured
        } else {
            Mode::Batch
        };
        route
            .hand_over(identity.as_ref(), &headers, Delivery::new(mode, events))
            .await
    };
    let has_body = answer.headers().contains_key(http::header::CONTENT_TYPE);
    match context {
        Some(context) if answer.status().is_success() && !has_body => {
            CallbackContext(context).into_response()
        }
        _ => answer,
    }
}

/// The CloudEvents of `envelope` (see the [module docs](self)).
fn events(envelope: &UcwaEnvelope, context: Option<&str>) -> Result<Vec<CloudEvent>, String> {
    let ack = envelope.link("self").unwrap_or("ucwa");
    envelope
        .events()
        .enumerate()
        .map(|(index, (sender, event))| one(envelope, ack, index, sender, event, context))
        .collect()
}

fn one(
    envelope: &UcwaEnvelope,
    ack: &str,
    index: usize,
    sender: &UcwaSender,
    event: &UcwaEvent,
    context: Option<&str>,
) -> Result<CloudEvent, String> {
    let source = match &envelope.base_uri {
        Some(base) if sender.href.starts_with('/') => {
            format!("{}{}", base.trim_end_matches('/'), sender.href)
        }
        _ => sender.href.clone(),
    };
    let source = if source.is_empty() {
        "ucwa".to_owned()
    } else {
        source
    };
    let ty = format!(
        "{}.{}",
        event.link.rel.as_deref().unwrap_or("resource"),
        event.event_type
    );
    let data = serde_json::to_string(event).map_err(|e| format!("event {index}: {e}"))?;
    let data = Data::json(data).map_err(|e| format!("event {index}: {e}"))?;
    let mut out = CloudEvent::new(format!("{ack}#{index}"), source, ty)
        .with_datacontenttype("application/json");
    if !event.link.href.is_empty() {
        out = out.with_subject(event.link.href.as_str());
    }
    let mut out = out
        .with_extension("ucwasender", sender.rel.as_str())
        .map_err(|e| e.to_string())?;
    if let Some(context) = context {
        out = out
            .with_extension("ucwacontext", context)
            .map_err(|e| e.to_string())?;
    }
    Ok(out.with_data(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{
      "_links": {"self": {"href": "/platformservice/v1/applications/1393347000/events?ack=7"}},
      "sender": [{
        "rel": "ms:rtc:saas:conversation",
        "href": "/platformservice/v1/applications/1393347000/communication/conversations/869c",
        "events": [
          {"link": {"rel": "ms:rtc:saas:message", "href": "/m/3"}, "status": "Success",
           "_embedded": {"ms:rtc:saas:message": {"direction": "Incoming"}}, "type": "completed"},
          {"link": {"rel": "ms:rtc:saas:participant", "href": "/p/1"}, "type": "added"}
        ]
      }],
      "baseuri": "https://webpoolbl20r04.infra.lync.com"
    }"#;

    #[test]
    fn each_ucwa_event_is_one_cloudevent() {
        let envelope: UcwaEnvelope = serde_json::from_str(BODY).unwrap();
        let all = events(&envelope, Some("42")).unwrap();
        assert_eq!(all.len(), 2);
        let first = &all[0];
        assert_eq!(
            first.id(),
            "/platformservice/v1/applications/1393347000/events?ack=7#0"
        );
        assert_eq!(
            first.source(),
            "https://webpoolbl20r04.infra.lync.com/platformservice/v1/applications/1393347000/communication/conversations/869c"
        );
        assert_eq!(first.ty(), "ms:rtc:saas:message.completed");
        assert_eq!(first.subject(), Some("/m/3"));
        assert_eq!(first.datacontenttype(), Some("application/json"));
        let data: serde_json::Value = serde_json::from_slice(first.data.as_bytes()).unwrap();
        assert_eq!(
            data["_embedded"]["ms:rtc:saas:message"]["direction"],
            "Incoming"
        );
        assert_eq!(data["status"], "Success");
        assert_eq!(
            first
                .extension("ucwasender")
                .map(ToString::to_string)
                .as_deref(),
            Some("ms:rtc:saas:conversation")
        );
        assert_eq!(
            first
                .extension("ucwacontext")
                .map(ToString::to_string)
                .as_deref(),
            Some("42")
        );
        assert_eq!(
            all[1].id(),
            "/platformservice/v1/applications/1393347000/events?ack=7#1"
        );
        assert_eq!(all[1].ty(), "ms:rtc:saas:participant.added");
        assert!(all[1].extension("ucwacontext").is_some());
        let none = events(&envelope, None).unwrap();
        assert!(none[0].extension("ucwacontext").is_none());
    }
}
