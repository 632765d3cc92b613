//! Traces: an OpenTelemetry SDK tracer provider behind `tracing`, exporting over
//! OTLP/HTTP with protobuf when a collector is named.
//!
//! Tracing is on by default: every span gets OpenTelemetry ids, the sender's
//! `traceparent` is continued, and the sinks pass hookgate's span on (`--forward`
//! as `traceparent`/`tracestate`, `--exec` as `TRACEPARENT`/`TRACESTATE`), even
//! when nothing is exported. The standard variables:
//!
//! | variable | read by | what |
//! |---|---|---|
//! | `OTEL_SDK_DISABLED` | hookgate | `true`: no tracer at all (the sinks pass the sender's headers on unchanged) |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the exporter | export when either is set (`…_ENDPOINT` gets `/v1/traces` appended, `…_TRACES_ENDPOINT` is used as it is) |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` | hookgate | `http/protobuf` only: `grpc` or `http/json` stop the start (exit 2) |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_HEADERS` | the exporter | a secret: never logged, shown, or passed to a command |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` | hookgate and the exporter | milliseconds per export (default 10000), retries included |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION` | the exporter | none is compiled in: leave unset |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the SDK | the resource; the service name defaults to `hookgate` |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | the SDK | default `parentbased_always_on` |
//! | `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT` | the SDK | the batch processor |
//!
//! The batch processor runs on a thread of its own with a bounded queue (2048
//! spans by default; more are dropped): a collector that is slow or down never
//! slows or fails a delivery. The spans still queued are flushed at shutdown.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES`
/// names one.
pub(crate) const SERVICE_NAME: &str = "hookgate";

/// The per-export timeout when no `OTEL_EXPORTER_OTLP_*TIMEOUT` is set.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a collector's answer read (it is a small protobuf message).
const MAX_ANSWER: usize = 64 * 1024;

/// What the `OTEL_*` variables ask for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceSettings {
    /// `false` with `OTEL_SDK_DISABLED=true`.
    pub(crate) enabled: bool,
    /// The collector's traces URL for the log (no user info, query or fragment),
    /// when an endpoint is set.
    pub(crate) endpoint: Option<String>,
    /// The time an export may take.
    pub(crate) timeout: Duration,
}

impl TraceSettings {
    /// The settings from `env`; a message naming the variable when one is wrong.
    pub(crate) fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let enabled = match var("OTEL_SDK_DISABLED").map(|v| v.trim().to_ascii_lowercase()) {
            None => true,
            Some(v) if v == "true" => false,
            Some(v) if v == "false" => true,
            Some(_) => return Err(invalid("OTEL_SDK_DISABLED", "not one of true, false")),
        };
        if !enabled {
            return Ok(Self {
                enabled,
                endpoint: None,
                timeout: DEFAULT_TIMEOUT,
            });
        }
        for name in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            let Some(protocol) = var(name) else { continue };
            if protocol.trim().eq_ignore_ascii_case("http/protobuf") {
                // The signal's own variable wins over the general one.
                break;
            }
            return Err(invalid(
                name,
                &format!(
                    "{:?}: hookgate exports traces over OTLP/HTTP with protobuf only (no gRPC, \
                     no JSON); set http/protobuf and point the endpoint at the collector's \
                     HTTP port (4318)",
                    protocol.trim()
                ),
            ));
        }
        let mut timeout = DEFAULT_TIMEOUT;
        for name in [
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ] {
            if let Some(ms) = var(name) {
                timeout = ms
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(Duration::from_millis)
                    .ok_or_else(|| invalid(name, "not a positive number of milliseconds"))?;
                break;
            }
        }
        let endpoint = match (
            var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            var("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some(url), _) => Some(endpoint_label("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url)?),
            (None, Some(url)) => {
                let base = url.trim().trim_end_matches('/');
                Some(endpoint_label(
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    &format!("{base}/v1/traces"),
                )?)
            }
            (None, None) => None,
        };
        Ok(Self {
            enabled,
            endpoint,
            timeout,
        })
    }

    /// What the log says at the start.
    pub(crate) fn describe(&self) -> String {
        match (&self.enabled, &self.endpoint) {
            (false, _) => "tracing off (OTEL_SDK_DISABLED=true)".to_owned(),
            (true, None) => "tracing on, not exported (set OTEL_EXPORTER_OTLP_ENDPOINT)".to_owned(),
            (true, Some(url)) => format!("traces exported over OTLP/HTTP (protobuf) to {url}"),
        }
    }
}

fn invalid(name: &str, why: &str) -> String {
    format!("invalid setting {name}: {why}")
}

/// `url` checked, without its user info, query and fragment (which may hold
/// secrets).
fn endpoint_label(name: &str, url: &str) -> Result<String, String> {
    let mut url = reqwest::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| invalid(name, "not an http:// or https:// URL"))?;
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.to_string())
}

/// The tracer provider of `hookgate listen`, shut down (its spans flushed) by
/// [`Telemetry::shutdown`]. Its `Debug` leaves the provider out: the exporter's
/// would show the OTLP headers.
pub(crate) struct Telemetry {
    provider: SdkTracerProvider,
    /// The export timeout: the last export's bound at shutdown.
    timeout: Duration,
}

impl Telemetry {
    /// Builds the provider (with the exporter when an endpoint is set), installs it
    /// and the W3C propagator globally, and gives the tracer for the `tracing`
    /// layer. `runtime` runs the exports' HTTP requests. `None` when tracing is off.
    pub(crate) fn start(
        settings: &TraceSettings,
        runtime: tokio::runtime::Handle,
    ) -> Result<Option<(Self, SdkTracer)>, String> {
        if !settings.enabled {
            return Ok(None);
        }
        let mut builder = SdkTracerProvider::builder().with_resource(resource());
        if settings.endpoint.is_some() {
            let client = OtlpClient::new(runtime, settings.timeout)?;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_timeout(settings.timeout)
                .with_http_client(client)
                .build()
                // Its messages name the variable; never a header's value.
                .map_err(|e| format!("cannot export traces: {e}"))?;
            builder = builder.with_batch_exporter(exporter);
        }
        let provider = builder.build();
        let tracer = provider.tracer("hookgate");
        opentelemetry::global::set_tracer_provider(provider.clone());
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        Ok(Some((
            Self {
                provider,
                timeout: settings.timeout,
            },
            tracer,
        )))
    }

    /// Exports the spans still queued (within the export timeout) and stops.
    pub(crate) fn shutdown(self) {
        let within = self.timeout + Duration::from_secs(1);
        if let Err(e) = self.provider.shutdown_with_timeout(within) {
            tracing::warn!(error = %e, "the last spans could not be exported");
        }
    }
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The SDK's resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), with the
/// service name `hookgate` when neither names one.
fn resource() -> Resource {
    let resource = Resource::builder().build();
    let named = resource
        .get(&opentelemetry::Key::new("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    if named {
        resource
    } else {
        Resource::builder().with_service_name(SERVICE_NAME).build()
    }
}

/// The exporter's HTTP client: the program's reqwest (rustls), each request run on
/// the program's runtime (the SDK's batch thread has none) within the timeout.
#[derive(Debug)]
struct OtlpClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
    timeout: Duration,
}

impl OtlpClient {
    fn new(runtime: tokio::runtime::Handle, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the OTLP HTTP client: {e}"))?;
        Ok(Self {
            client,
            runtime,
            timeout,
        })
    }
}

#[async_trait]
impl HttpClient for OtlpClient {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let client = self.client.clone();
        let timeout = self.timeout;
        let exchange = async move {
            let mut response = client.execute(request).await?;
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(HttpError::from("the collector's answer is too large"));
                }
                body.extend_from_slice(&chunk);
            }
            let mut answer = http::Response::new(Bytes::from(body));
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok::<_, HttpError>(answer)
        };
        self.runtime
            .spawn(async move {
                tokio::time::timeout(timeout, exchange)
                    .await
                    .map_err(|_| HttpError::from("the export timed out"))?
            })
            .await
            .map_err(|e| HttpError::from(format!("the export was cancelled: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&str, &str)]) -> Result<TraceSettings, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TraceSettings::resolve(&move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn on_by_default_exported_when_an_endpoint_is_set() {
        let s = resolve(&[]).unwrap();
        assert!(s.enabled && s.endpoint.is_none());
        let s = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")]).unwrap();
        assert_eq!(
            s.endpoint.as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        let s = resolve(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://u:p@b/x?token=1",
            ),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ])
        .unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("https://b/x"));
        assert_eq!(s.timeout, Duration::from_millis(2500));
        let s = resolve(&[("OTEL_SDK_DISABLED", "TRUE")]).unwrap();
        assert!(!s.enabled);
        assert!(s.describe().contains("off"));
    }

    #[test]
    fn grpc_json_and_bad_values_are_refused_naming_the_variable() {
        for (name, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_SDK_DISABLED", "yes"),
        ] {
            let e = resolve(&[(name, value)]).unwrap_err();
            assert!(e.contains(name), "{e}");
        }
        // The signal's own variable wins.
        assert!(
            resolve(&[
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ])
            .is_ok()
        );
    }
}
