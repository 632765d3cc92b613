//! The chat hub of the Web PubSub examples (`webpubsub_axum`, `webpubsub_actix`):
//! configuration from the environment and the event handling, shared so that both
//! behave the same.
//!
//! - `WEBPUBSUB_KEYS`: comma list of the resource's access keys; when set, every
//!   event must carry a valid `ce-signature`. Set but blank: the start stops.
//! - `WEBPUBSUB_HOST`: the resource's host (`<name>.webpubsub.azure.com`), the one
//!   origin the validation `OPTIONS` is granted to; unset: any origin, with a
//!   warning.
//! - `BIND_ADDR`: where to listen (default `127.0.0.1:8080`).

use std::io::Write as _;

use hookgate::auth::WebPubSubKeys;
use hookgate::webpubsub::{
    ConnectResponse, UserEventResponse, WebPubSubError, WebPubSubEvent, WebPubSubPolicy,
    WebPubSubResponse,
};

/// The address to listen on.
pub(crate) fn bind_addr() -> String {
    std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
}

/// The receiver the environment asks for; exits with a message (code 2) when it is
/// not valid.
pub(crate) fn policy() -> WebPubSubPolicy {
    let keys = std::env::var("WEBPUBSUB_KEYS").ok().map(|value| {
        let keys: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        if keys.is_empty() {
            // A secret that was not injected must not switch the signature check off.
            eprintln!("error: WEBPUBSUB_KEYS is set but lists nothing; unset it or give a value");
            std::process::exit(2)
        }
        keys
    });
    let mut builder = WebPubSubPolicy::builder().on_rejection(|rejection| {
        eprintln!(
            "warning: rejected request: {} {}: {}",
            rejection.problem().status(),
            rejection.path(),
            rejection.problem().detail()
        );
    });
    match std::env::var("WEBPUBSUB_HOST") {
        Ok(host) if !host.trim().is_empty() => builder = builder.host(host.trim()),
        _ => {
            eprintln!(
                "warning: WEBPUBSUB_HOST is not set: the validation is granted to any origin"
            );
            builder = builder.any_origin();
        }
    }
    if keys.is_none() {
        eprintln!("warning: WEBPUBSUB_KEYS is not set: signatures are not checked");
    }
    let built = (|| {
        builder
            .keys(keys.map(WebPubSubKeys::new).transpose()?)
            .build()
    })();
    built.unwrap_or_else(|e| {
        eprintln!("error: {e} (check WEBPUBSUB_KEYS and WEBPUBSUB_HOST)");
        std::process::exit(2)
    })
}

/// Handles one event of the chat hub, mounted at `/api/{event}` (`segment` is the
/// `{event}` of the URL):
///
/// - prints the event to stdout as one line in the CloudEvents JSON format (the
///   Web PubSub context as its extensions; the signature is never among them);
/// - `connect`: 200 with `userId` = the `username` query value, else the
///   connection's user id, else `user-<connectionId>`; `groups` = `[<room>]` when
///   the `room` query value is given;
/// - a user event: the same data back (an echo), and the state `{"messages": N}`,
///   N counting this connection's user events;
/// - `connected`, `disconnected`: 204 and a line on stderr.
pub(crate) fn handle(
    segment: &str,
    event: WebPubSubEvent,
) -> Result<WebPubSubResponse, WebPubSubError> {
    event.check_path_event(segment)?;
    print_event(&event);
    Ok(match event {
        WebPubSubEvent::Connect(connect) => {
            let user = connect
                .body
                .query_value("username")
                .map(str::to_owned)
                .or_else(|| connect.context.user_id().map(str::to_owned))
                .unwrap_or_else(|| format!("user-{}", connect.context.connection_id()));
            let mut response = ConnectResponse::new().user_id(user);
            if let Some(room) = connect.body.query_value("room") {
                response = response.groups([room]);
            }
            response.into()
        }
        WebPubSubEvent::User(message) => {
            let reply = UserEventResponse::echo(&message.data);
            let mut state = message.context.into_state();
            let messages = state.get::<u64>("messages").ok().flatten().unwrap_or(0);
            state.set("messages", &(messages + 1))?;
            reply.state(&state)?.into()
        }
        WebPubSubEvent::Connected(connected) => {
            eprintln!(
                "connected: {} (user {})",
                connected.context.connection_id().escape_debug(),
                connected.context.user_id().unwrap_or("-").escape_debug()
            );
            WebPubSubResponse::Ack
        }
        WebPubSubEvent::Disconnected(disconnected) => {
            eprintln!(
                "disconnected: {} ({})",
                disconnected.context.connection_id().escape_debug(),
                // The client's text, escaped: it cannot paint the operator's terminal.
                disconnected
                    .body
                    .reason
                    .as_deref()
                    .unwrap_or("no reason given")
                    .escape_debug()
            );
            WebPubSubResponse::Ack
        }
    })
}

fn print_event(event: &WebPubSubEvent) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not take the receiver down with it.
    let _ = writeln!(out, "{}", event.context().cloud_event().to_json()).and_then(|()| out.flush());
}
