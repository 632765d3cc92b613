//! The validation handshake: the origins granted besides the Azure Event Grid ones,
//! the rate granted, and whether the sender's validation URL is called back.

use clap::builder::BoolishValueParser;
use hookgate::handshake::Rate;
use serde::Deserialize;

use super::value::{Scalar, list, text};
use super::{ConfigProblem, Describe};

/// The handshake's flags.
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
    /// An origin granted in the validation handshake, besides the Azure Event Grid
    /// origins (repeatable or a comma list; `*` for any), such as a Web PubSub host
    /// `NAME.webpubsub.azure.com`.
    #[arg(
        long,
        env = "HOOKGATE_ALLOW_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub(crate) allow_origin: Vec<String>,

    /// The rate granted in the handshake: requests per minute, or `*` [default: *].
    #[arg(long, env = "HOOKGATE_RATE", value_name = "N|*")]
    pub(crate) rate: Option<String>,

    /// Grant the handshake by calling the sender's validation URL back (Event Grid's
    /// `validationUrl`, the CloudEvents `WebHook-Request-Callback`).
    #[arg(long, env = "HOOKGATE_CALLBACK", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub(crate) callback: Option<bool>,
}

/// The handshake's keys in the file.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    allow_origin: Option<Vec<String>>,
    rate: Option<Scalar>,
    callback: Option<bool>,
}

/// The handshake's settings, checked.
#[derive(Clone, Debug)]
pub(crate) struct HandshakeSettings {
    /// Extra origins (`*` means any), besides the Azure Event Grid ones.
    pub(crate) allow_origins: Vec<String>,
    pub(crate) rate: Option<Rate>,
    pub(crate) callback: bool,
}

pub(crate) fn resolve(args: Args, file: File) -> Result<HandshakeSettings, ConfigProblem> {
    let allow_origins = list(args.allow_origin, file.allow_origin)
        .into_iter()
        .map(|o| o.trim().to_owned())
        .collect::<Vec<_>>();
    if let Some(bad) = allow_origins
        .iter()
        .find(|o| o.is_empty() || o.contains(char::is_whitespace))
    {
        return Err(ConfigProblem::new(
            "allow_origin",
            format!(
                "{bad:?} is not an origin (a host name such as example.webpubsub.azure.com, or *)"
            ),
        ));
    }
    let rate = text(args.rate, file.rate)
        .map(|r| Rate::parse(&r).map_err(|e| ConfigProblem::new("rate", e.to_string())))
        .transpose()?;
    let callback = args.callback.or(file.callback).unwrap_or(false);
    Ok(HandshakeSettings {
        allow_origins,
        rate,
        callback,
    })
}

impl HandshakeSettings {
    pub(crate) fn describe(&self, line: Describe<'_>) {
        let mut origins = vec!["the Azure Event Grid origins".to_owned()];
        origins.extend(self.allow_origins.iter().cloned());
        line(
            "handshake",
            format!(
                "origins: {}; rate: {}; callback: {}",
                origins.join(", "),
                self.rate.map_or_else(|| "*".to_owned(), Rate::header_value),
                if self.callback { "yes" } else { "no" }
            ),
        );
    }
}

/// The handshake's part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# Origins granted in the validation handshake besides the Azure Event Grid ones
# ("*" for any), such as a Web PubSub host.
# allow_origin = ["example.webpubsub.azure.com"]

# The rate granted in the handshake: requests per minute, or "*".
# rate = "*"

# Grant the handshake by calling the sender's validation URL back.
# callback = false
"#;
