//! W3C Trace Context: the `traceparent` and `tracestate` of a request or an event.

use std::fmt;

use crate::headers::HeaderSource;

/// The most bytes of a `tracestate` kept (W3C Trace Context: a vendor should
/// propagate at least 512 characters; longer lists may be cut). A longer one is
/// dropped whole rather than cut, and the `traceparent` kept.
pub const MAX_TRACESTATE_LEN: usize = 512;

/// The most list members of a `tracestate` (W3C Trace Context: 32).
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// A sender's trace context (W3C Trace Context level 1): the trace it belongs to,
/// the span it came from (the parent of hookgate's), its flags and its
/// `tracestate`.
///
/// Parsed from a request's `traceparent`/`tracestate` headers
/// ([`from_headers`](Self::from_headers)) or from an event's distributed-tracing
/// extension ([`CloudEvent::trace_context`](crate::CloudEvent::trace_context)). An
/// invalid `traceparent` is no context at all (`None`), as the spec says: the
/// receiver starts a new trace; an invalid `tracestate` is dropped and the
/// `traceparent` kept.
///
/// ```
/// use hookgate_core::observe::TraceContext;
///
/// let cx = TraceContext::parse(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
///     Some("congo=t61rcWkgMzE"),
/// )
/// .unwrap();
/// assert_eq!(cx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(cx.parent_id_hex(), "00f067aa0ba902b7");
/// assert!(cx.is_sampled());
/// assert_eq!(cx.tracestate(), Some("congo=t61rcWkgMzE"));
/// assert_eq!(cx.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
///
/// // Upper-case hex, an all-zero id or version ff are no context.
/// assert!(TraceContext::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None).is_none());
/// assert!(TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None).is_none());
/// assert!(TraceContext::parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None).is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
    tracestate: Option<Box<str>>,
}

impl TraceContext {
    /// Parses a `traceparent` value and, optionally, a `tracestate` (several
    /// header lines joined with `,`). `None` when the `traceparent` is not valid
    /// for its version: version `00` is exactly 55 characters; a later version
    /// (not `ff`) is read by its first four fields when the next character, if
    /// any, is `-`, as the spec asks of a version-00 parser.
    #[must_use]
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let b = traceparent.trim_matches([' ', '\t']).as_bytes();
        if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return None;
        }
        let version = hex_byte(b[0], b[1])?;
        match version {
            0 if b.len() != 55 => return None,
            0xff => return None,
            v if v > 0 && b.len() > 55 && b[55] != b'-' => return None,
            _ => {}
        }
        let mut trace_id = [0; 16];
        let mut parent_id = [0; 8];
        hex_into(&b[3..35], &mut trace_id)?;
        hex_into(&b[36..52], &mut parent_id)?;
        let flags = hex_byte(b[53], b[54])?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            flags,
            tracestate: tracestate.and_then(valid_tracestate).map(Into::into),
        })
    }

    /// The context of a request's `traceparent` and `tracestate` headers
    /// (`tracestate` lines joined with `,`); `None` without a valid
    /// `traceparent`, or with more than one (the spec's "multiple traceparent"
    /// case: the receiver may not pick).
    #[must_use]
    pub fn from_headers(headers: &impl HeaderSource) -> Option<Self> {
        let mut traceparent = None;
        let mut state = String::new();
        let mut state_lines = 0usize;
        for (name, value) in headers.iter() {
            if name.eq_ignore_ascii_case("traceparent") {
                if traceparent.replace(value).is_some() {
                    return None;
                }
            } else if name.eq_ignore_ascii_case("tracestate") {
                state_lines += 1;
                // Past the limit the whole list is dropped: stop copying.
                if state.len() <= MAX_TRACESTATE_LEN {
                    if !state.is_empty() {
                        state.push(',');
                    }
                    state.push_str(std::str::from_utf8(value).unwrap_or("\u{0}"));
                }
            }
        }
        let traceparent = std::str::from_utf8(traceparent?).ok()?;
        Self::parse(traceparent, (state_lines > 0).then_some(state.as_str()))
    }

    /// The trace id (16 bytes, not all zero).
    #[must_use]
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The id of the sender's span (8 bytes, not all zero): the parent of the span
    /// that continues the trace.
    #[must_use]
    pub fn parent_id(&self) -> [u8; 8] {
        self.parent_id
    }

    /// The trace flags (bit 0: sampled).
    #[must_use]
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the sender sampled the trace (flag bit 0).
    #[must_use]
    pub fn is_sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The `tracestate`, when one came and was valid.
    #[must_use]
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    /// The trace id as 32 lower-case hex digits (as in logs and trace viewers).
    #[must_use]
    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The parent span id as 16 lower-case hex digits.
    #[must_use]
    pub fn parent_id_hex(&self) -> String {
        hex::encode(self.parent_id)
    }
}

/// The `traceparent` value, version `00`.
impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.parent_id),
            self.flags
        )
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceContext")
            .field("traceparent", &format_args!("{self}"))
            .field("tracestate", &self.tracestate)
            .finish()
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        // Lower case only: the spec makes upper-case hex invalid.
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn hex_byte(high: u8, low: u8) -> Option<u8> {
    Some(hex_digit(high)? << 4 | hex_digit(low)?)
}

fn hex_into(text: &[u8], out: &mut [u8]) -> Option<()> {
    for (pair, byte) in text.chunks_exact(2).zip(out.iter_mut()) {
        *byte = hex_byte(pair[0], pair[1])?;
    }
    Some(())
}

/// `tracestate` when it is a valid list (W3C Trace Context 3.3): at most
/// [`MAX_TRACESTATE_MEMBERS`] members `key=value`, keys unique, within
/// [`MAX_TRACESTATE_LEN`] bytes; empty members (`a=1,,b=2`) are allowed and
/// kept as sent. Anything else is dropped.
fn valid_tracestate(state: &str) -> Option<&str> {
    let state = state.trim_matches([' ', '\t']);
    if state.is_empty() || state.len() > MAX_TRACESTATE_LEN {
        return None;
    }
    let mut keys: [&str; MAX_TRACESTATE_MEMBERS] = [""; MAX_TRACESTATE_MEMBERS];
    let mut count = 0;
    for member in state.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let (key, value) = member.split_once('=')?;
        if !valid_key(key) || !valid_value(value) || count == MAX_TRACESTATE_MEMBERS {
            return None;
        }
        if keys[..count].contains(&key) {
            return None;
        }
        keys[count] = key;
        count += 1;
    }
    Some(state)
}

/// `simple-key` or `tenant-id@system-id` (lower-case letters, digits and `_-*/`).
fn valid_key(key: &str) -> bool {
    let part = |s: &str, max: usize, first_digit: bool| {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= max
            && (b[0].is_ascii_lowercase() || (first_digit && b[0].is_ascii_digit()))
            && b.iter().all(|&c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, b'_' | b'-' | b'*' | b'/')
            })
    };
    match key.split_once('@') {
        None => part(key, 256, false),
        Some((tenant, system)) => part(tenant, 241, true) && part(system, 14, false),
    }
}

/// Printable ASCII but `,` and `=`, at most 256, not ending in a space.
fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b[b.len() - 1] != b' '
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::HeaderList;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn versions_and_fields() {
        assert!(TraceContext::parse(TP, None).is_some());
        // A version-00 value with more after it is invalid; a later version may
        // carry more fields after a dash.
        assert!(TraceContext::parse(&format!("{TP}-extra"), None).is_none());
        let later = format!("cc{}-what-the-future-holds", &TP[2..]);
        assert_eq!(TraceContext::parse(&later, None).unwrap().to_string(), TP);
        assert!(TraceContext::parse(&format!("cc{}x", &TP[2..]), None).is_none());
        assert!(TraceContext::parse(&TP[..54], None).is_none());
        assert!(
            TraceContext::parse(&TP.replace("00f067aa0ba902b7", "0000000000000000"), None)
                .is_none()
        );
        assert!(TraceContext::parse(&TP.replacen('-', "_", 1), None).is_none());
        let unsampled = TraceContext::parse(&TP.replace("-01", "-00"), None).unwrap();
        assert!(!unsampled.is_sampled());
    }

    #[test]
    fn tracestate_kept_only_when_valid() {
        let cx = |state: &str| TraceContext::parse(TP, Some(state)).unwrap().tracestate;
        assert_eq!(
            cx("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE").as_deref(),
            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
        );
        assert_eq!(cx("tenant@vendor=1").as_deref(), Some("tenant@vendor=1"));
        assert_eq!(cx("a=1,a=2"), None, "duplicate keys");
        assert_eq!(cx("UPPER=1"), None);
        assert_eq!(cx("a=1,b"), None);
        let many = (0..33)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(cx(&many), None, "33 members");
        let long = format!("k={}", "v".repeat(MAX_TRACESTATE_LEN));
        assert_eq!(cx(&long), None);
    }

    #[test]
    fn from_headers_joins_tracestate_and_refuses_two_parents() {
        let headers = HeaderList::new([
            ("TraceParent", TP),
            ("tracestate", "a=1"),
            ("TraceState", "b=2"),
        ]);
        let cx = TraceContext::from_headers(&headers).unwrap();
        assert_eq!(cx.tracestate(), Some("a=1,b=2"));
        let two = HeaderList::new([("traceparent", TP), ("traceparent", TP)]);
        assert!(TraceContext::from_headers(&two).is_none());
        assert!(TraceContext::from_headers(&HeaderList::default()).is_none());
    }
}
