//! The request vectors: loading and checking the data files in `tests/vectors/*.json`.
//!
//! The schema is described in `tests/vectors/README.md`. This module only reads the
//! files (serde, serde_json and base64; no hookgate types), so that every harness can
//! include it with `#[path]`: the core's parser test
//! (`crates/hookgate-core/tests/vectors.rs`) and the cross-framework tests at the
//! repository root.
//!
//! ```ignore
//! #[path = "common/vectors.rs"]
//! mod vectors;
//!
//! let all = vectors::load(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors"));
//! for v in &all {
//!     let body: Vec<u8> = v.body();
//!     // send v.method, v.headers, body (with v.body_limit) and compare with v.expect
//! }
//! ```

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

/// Fewer vectors than this means the directory was not found or lost its files.
pub const MIN_VECTORS: usize = 70;

/// One request and what the receiver must answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// Unique across all files; used in failure reports.
    pub name: String,
    /// What the vector checks, and why the expectation is right.
    pub description: String,
    /// The HTTP method (`POST`).
    pub method: String,
    /// Header lines as `[name, value]`, in order; a name may repeat.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 text.
    #[serde(default)]
    pub body: Option<String>,
    /// The body as standard base64 (for bytes that are not UTF-8).
    #[serde(default)]
    pub body_base64: Option<String>,
    /// The body as one byte repeated (for bodies over a limit).
    #[serde(default)]
    pub body_repeat: Option<BodyRepeat>,
    /// The receiver's body limit in bytes for this request; absent = the default (1 MiB).
    #[serde(default)]
    pub body_limit: Option<usize>,
    /// The expected answer.
    pub expect: Expect,
    /// The file the vector came from (set by the loader).
    #[serde(skip)]
    pub file: PathBuf,
}

/// `{"byte": "a", "count": N}`: the body is `count` copies of one ASCII character.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyRepeat {
    /// A one-character ASCII string.
    pub byte: String,
    /// How many times it is repeated.
    pub count: usize,
}

/// The expected answer to a vector.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// 200 (accepted) or the 4xx of the rejection: 400, 413 or 415.
    pub status: u16,
    /// For a rejection: the problem type slug (`ErrorKind::slug()`); the problem
    /// `type` is `urn:hookgate:problem:<kind>`.
    #[serde(default)]
    pub kind: Option<String>,
    /// For a rejection, optionally: substrings the problem `detail` must contain.
    #[serde(default)]
    pub detail_contains: Vec<String>,
    /// For an accepted request: how the events arrived.
    #[serde(default)]
    pub mode: Option<ExpectedMode>,
    /// For an accepted request: the events in the CloudEvents JSON format, as
    /// `CloudEvent::to_json()` writes them (binary data as `data_base64`).
    #[serde(default)]
    pub events: Option<Vec<Value>>,
}

/// The content mode of an accepted request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedMode {
    /// `ce-` headers and a body.
    Binary,
    /// One JSON event.
    Structured,
    /// A JSON array of events.
    Batch,
}

impl ExpectedMode {
    /// The name used in the files: `binary`, `structured` or `batch`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Structured => "structured",
            Self::Batch => "batch",
        }
    }
}

impl fmt::Display for ExpectedMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Vector {
    /// The body bytes (empty when the vector gives none).
    pub fn body(&self) -> Vec<u8> {
        if let Some(text) = &self.body {
            return text.as_bytes().to_vec();
        }
        if let Some(encoded) = &self.body_base64 {
            return base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_else(|e| panic!("vector `{}`: body_base64: {e}", self.name));
        }
        if let Some(repeat) = &self.body_repeat {
            return vec![repeat.byte.as_bytes()[0]; repeat.count];
        }
        Vec::new()
    }

    /// The header lines as `(name, value bytes)`.
    pub fn header_bytes(&self) -> Vec<(String, Vec<u8>)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
            .collect()
    }

    /// Whether the request must be accepted (status 200).
    pub fn accepted(&self) -> bool {
        self.expect.status == 200
    }

    /// The expected problem `type` URI of a rejection.
    pub fn problem_type(&self) -> Option<String> {
        self.expect
            .kind
            .as_ref()
            .map(|k| format!("urn:hookgate:problem:{k}"))
    }

    /// The expected events (empty for a rejection).
    pub fn expected_events(&self) -> &[Value] {
        self.expect.events.as_deref().unwrap_or(&[])
    }

    /// Checks that the vector follows the schema.
    fn check(&self) -> Result<(), String> {
        if self.name.is_empty() || self.description.is_empty() {
            return Err("name and description must not be empty".into());
        }
        if self.method != "POST" {
            return Err(format!("method must be POST, got `{}`", self.method));
        }
        let bodies = [
            self.body.is_some(),
            self.body_base64.is_some(),
            self.body_repeat.is_some(),
        ];
        if bodies.iter().filter(|b| **b).count() > 1 {
            return Err("give at most one of body, body_base64, body_repeat".into());
        }
        if let Some(encoded) = &self.body_base64 {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("body_base64 is not base64: {e}"))?;
        }
        if let Some(r) = &self.body_repeat
            && (r.byte.len() != 1 || !r.byte.is_ascii())
        {
            return Err("body_repeat.byte must be one ASCII character".into());
        }
        if self.body_limit == Some(0) {
            return Err("body_limit must be at least 1".into());
        }
        for (name, value) in &self.headers {
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.is_empty() || !name.bytes().all(token) {
                return Err(format!("header name `{name}` is not an HTTP token"));
            }
            // Visible ASCII, space and tab only, so that every framework's header
            // type takes the value as it is.
            if !value
                .bytes()
                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
            {
                return Err(format!(
                    "header `{name}` has a value that is not visible ASCII"
                ));
            }
        }
        let e = &self.expect;
        match e.status {
            200 => {
                if e.kind.is_some() || !e.detail_contains.is_empty() {
                    return Err("an accepted vector has no kind or detail_contains".into());
                }
                if e.mode.is_none() || e.events.is_none() {
                    return Err("an accepted vector needs mode and events".into());
                }
                if e.mode != Some(ExpectedMode::Batch) && e.events.as_ref().map(Vec::len) != Some(1)
                {
                    return Err("binary and structured mode carry exactly one event".into());
                }
                if let Some(bad) = e.events.iter().flatten().find(|v| !v.is_object()) {
                    return Err(format!("expected event is not a JSON object: {bad}"));
                }
            }
            400 | 413 | 415 => {
                let kind = e.kind.as_deref().unwrap_or("");
                if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                    return Err("a rejection needs a kind (a lowercase slug)".into());
                }
                if e.mode.is_some() || e.events.is_some() {
                    return Err("a rejection has no mode or events".into());
                }
            }
            other => return Err(format!("status must be 200, 400, 413 or 415, got {other}")),
        }
        Ok(())
    }
}

/// Loads every vector of every `*.json` file in `dir` (sorted by file name, then in
/// file order). A file holds one vector object or an array of them.
///
/// Panics with the file and the reason when a file cannot be read, does not follow
/// the schema, or repeats a name, and when there are fewer than [`MIN_VECTORS`].
pub fn load(dir: impl AsRef<Path>) -> Vec<Vector> {
    let dir = dir.as_ref();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the vector directory {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    let mut names = HashSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
        let items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        for (i, item) in items.into_iter().enumerate() {
            let mut vector: Vector = serde_json::from_value(item)
                .unwrap_or_else(|e| panic!("{} item {i}: {e}", file.display()));
            if let Err(why) = vector.check() {
                panic!("{} vector `{}`: {why}", file.display(), vector.name);
            }
            if !names.insert(vector.name.clone()) {
                panic!(
                    "{}: vector name `{}` is used twice",
                    file.display(),
                    vector.name
                );
            }
            vector.file.clone_from(&file);
            all.push(vector);
        }
    }
    assert!(
        all.len() >= MIN_VECTORS,
        "only {} vectors in {}; expected at least {MIN_VECTORS}",
        all.len(),
        dir.display()
    );
    all
}
