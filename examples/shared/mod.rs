//! Configuration of the example receivers from the environment (shared by both).
//!
//! - `ALLOWED_ORIGINS`: a comma list of origins granted in the validation handshake,
//!   or `*` for any; default: the Azure Event Grid origins.
//! - `ALLOWED_RATE`: the rate granted, requests per minute or `*` (the default).

use hookgate::handshake::{HandshakePolicy, Rate};

/// The handshake policy the environment asks for; exits with a message when it is
/// not valid.
pub(crate) fn handshake_policy() -> HandshakePolicy {
    let built = (|| {
        let mut policy = HandshakePolicy::builder();
        policy = match std::env::var("ALLOWED_ORIGINS") {
            Ok(list) if list.trim() == "*" => policy.allow_any_origin(),
            Ok(list) => policy.allow_origins(list.split(',').map(str::trim)),
            Err(_) => policy.azure_event_grid(),
        };
        if let Ok(rate) = std::env::var("ALLOWED_RATE") {
            policy = policy.rate(Rate::parse(&rate)?);
        }
        policy.build()
    })();
    built.unwrap_or_else(|e| {
        eprintln!("error: {e} (check ALLOWED_ORIGINS and ALLOWED_RATE)");
        std::process::exit(2)
    })
}
