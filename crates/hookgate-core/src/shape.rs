//! What a sender is told when JSON does not have the shape a receiver's type expects:
//! the JSON path of the value and the JSON kinds, never a Rust type, module, variant or
//! file (serde's own messages name them: "invalid type: map, expected struct Order").
//!
//! The path is a JSON Pointer (RFC 6901) relative to the value parsed (an event's
//! data, a callback body): `/items/3/size`, `""` for the value itself. It is found by
//! parsing again with `serde_path_to_error`, only after a parse failed: a successful
//! parse costs what serde_json costs, nothing more.
//!
//! serde's messages, mapped (see [`message`]):
//!
//! | serde says | the detail says |
//! |---|---|
//! | invalid type: X, expected Y | expected (JSON kind of Y), got (JSON kind of X) |
//! | invalid value: X, expected Y | invalid value (JSON kind of X), expected (Y, JSON words) |
//! | invalid length N, expected Y | expected (count), got N elements |
//! | missing / duplicate field `f` | kept (`f` is the JSON name) |
//! | unknown field / variant `f`, expected one of … | unknown field / variant `f` (the list dropped) |
//! | data did not match any variant of untagged enum E | the value matches none of the accepted shapes |
//! | anything else (a `Deserialize` impl's own message) | kept, shortened, every `a::b` path and `struct S` / `enum E` name cut out |

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::error::Category;

/// The longest message or name quoted from the input or from a `Deserialize` impl.
const MAX_TEXT: usize = 160;

/// Why `bytes` is not a `T`, given the error of a first parse that failed: the JSON
/// path of the value at fault (a JSON Pointer, `""` for the whole value) and what was
/// wrong with it, as `at `/a/0`: expected a string, got a number` (the path part left
/// out for the whole value).
pub(crate) fn explain<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
    error: &serde_json::Error,
) -> String {
    let path = if error.classify() == Category::Data {
        let mut json = serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize::<_, T>(&mut json) {
            Err(e) => pointer(e.path()),
            Ok(_) => String::new(),
        }
    } else {
        String::new()
    };
    with_path(&path, &message(error))
}

/// `message`, after `at `path`: ` when there is a path.
pub(crate) fn with_path(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("at `{path}`: {message}")
    }
}

/// The JSON Pointer of a serde path; it stops at a step it cannot name.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "/{index}");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Unknown => break,
        }
        if out.len() > MAX_TEXT {
            return shorten(&out);
        }
    }
    out
}

/// serde_json's message for `error`, in JSON words (see the module docs); syntax
/// errors keep serde_json's text and position (they name no Rust type).
pub(crate) fn message(error: &serde_json::Error) -> String {
    let full = error.to_string();
    if error.classify() != Category::Data {
        return shorten(&full);
    }
    let text = if error.line() > 0 {
        let at = format!(" at line {} column {}", error.line(), error.column());
        full.strip_suffix(&at).unwrap_or(&full)
    } else {
        &full
    };
    data_message(text)
}

/// A serde data error's message (without a position), in JSON words.
fn data_message(text: &str) -> String {
    if let Some(rest) = text.strip_prefix("invalid type: ") {
        let (unexpected, expected) = split_expected(rest);
        return format!(
            "expected {}, got {}",
            expected_kind(expected).unwrap_or("a value of another kind"),
            unexpected_kind(unexpected)
        );
    }
    if let Some(rest) = text.strip_prefix("invalid value: ") {
        let (unexpected, expected) = split_expected(rest);
        return format!(
            "invalid value ({}), expected {}",
            unexpected_kind(unexpected),
            expected_value(expected)
        );
    }
    if let Some(rest) = text.strip_prefix("invalid length ") {
        let (len, expected) = split_expected(rest);
        return format!(
            "expected {}, got {} elements",
            expected_length(expected),
            shorten(len)
        );
    }
    for prefix in ["unknown field `", "unknown variant `"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            // The name as the sender wrote it; serde's list of the accepted names
            // after it is dropped (without a rename they are Rust names).
            let name = rest
                .rfind("`, expected")
                .or_else(|| rest.rfind("`, there are no"))
                .map_or(rest, |end| &rest[..end]);
            let name = name.strip_suffix('`').unwrap_or(name);
            return format!("{}{}`", prefix, shorten(name));
        }
    }
    if text.starts_with("missing field `") || text.starts_with("duplicate field `") {
        return shorten(text);
    }
    if text.starts_with("data did not match any variant of")
        || (text.starts_with("no variant of enum ") && text.ends_with("found in flattened data"))
    {
        return "the value matches none of the accepted shapes".to_owned();
    }
    // A `Deserialize` impl's own message: the user's words, for the sender, without
    // anything that looks like a Rust name.
    let cleaned = strip_rust_names(text);
    if cleaned.is_empty() {
        "invalid value".to_owned()
    } else {
        shorten(&cleaned)
    }
}

/// `X, expected Y` into `X` and `Y` (the last `, expected `: X may quote the input).
fn split_expected(text: &str) -> (&str, &str) {
    text.rfind(", expected ")
        .map_or((text, ""), |at| (&text[..at], &text[at + 11..]))
}

/// The JSON kind of serde's `Unexpected` text.
fn unexpected_kind(text: &str) -> &'static str {
    let starts = |p: &str| text.starts_with(p);
    if starts("boolean") {
        "a boolean"
    } else if starts("integer") || starts("floating point") {
        "a number"
    } else if starts("string") || starts("character") || starts("byte array") {
        "a string"
    } else if starts("unit") || starts("null") || starts("Option value") {
        "null"
    } else if starts("map") || starts("struct variant") {
        "an object"
    } else if starts("sequence") || starts("tuple variant") {
        "an array"
    } else {
        "a value of another kind"
    }
}

/// serde's names of the integer types, with their ranges in JSON words.
const INTEGERS: [(&str, &str); 12] = [
    ("u8", "an integer from 0 to 255"),
    ("u16", "an integer from 0 to 65535"),
    ("u32", "an integer from 0 to 4294967295"),
    ("u64", "an integer from 0 to 18446744073709551615"),
    ("u128", "a non-negative integer"),
    ("usize", "a non-negative integer"),
    ("i8", "an integer from -128 to 127"),
    ("i16", "an integer from -32768 to 32767"),
    ("i32", "an integer from -2147483648 to 2147483647"),
    (
        "i64",
        "an integer from -9223372036854775808 to 9223372036854775807",
    ),
    ("i128", "an integer"),
    ("isize", "an integer"),
];

/// The JSON kind of serde's `Expected` text, when it can be told.
fn expected_kind(text: &str) -> Option<&'static str> {
    let t = text.trim();
    let starts = |p: &str| t.starts_with(p);
    if starts("struct ")
        || starts("a map")
        || t == "map"
        || t.contains("tagged enum")
        || t.contains("object")
    {
        Some("an object")
    } else if t.contains("array")
        || starts("a sequence")
        || starts("tuple")
        || starts("an array")
        || starts("a tuple")
        || starts("a vec")
        || starts("a set")
    {
        Some("an array")
    } else if t == "a boolean" || t == "bool" {
        Some("a boolean")
    } else if INTEGERS.iter().any(|(name, _)| *name == t)
        || matches!(t, "f32" | "f64" | "a number" | "an integer" | "a float")
    {
        Some("a number")
    } else if t.contains("string")
        || t.contains("identifier")
        || matches!(t, "a character" | "char" | "a char")
    {
        Some("a string")
    } else if t == "unit" || starts("unit struct") || t == "null" {
        Some("null")
    } else if starts("enum ") {
        // Externally tagged: a unit variant is a string, the others an object.
        Some("a string or an object")
    } else {
        None
    }
}

/// What an `invalid value` expected, in JSON words: an integer type as its range, a
/// kind, or a `Deserialize` impl's own words when they follow serde's "a …"
/// convention (cut of Rust names).
fn expected_value(text: &str) -> String {
    let t = text.trim();
    if let Some((_, range)) = INTEGERS.iter().find(|(name, _)| *name == t) {
        return (*range).to_owned();
    }
    if t.starts_with("a ") || t.starts_with("an ") {
        let cleaned = strip_rust_names(t);
        if !cleaned.is_empty() {
            return shorten(&cleaned);
        }
    }
    expected_kind(t).unwrap_or("another value").to_owned()
}

/// The count an `invalid length` expected: `N elements` when serde says it.
fn expected_length(text: &str) -> String {
    let count = text
        .split_whitespace()
        .find_map(|w| w.parse::<usize>().ok());
    match count {
        Some(1) => "1 element".to_owned(),
        Some(n) => format!("{n} elements"),
        None => "another number of elements".to_owned(),
    }
}

/// `text` without its Rust names: every word with `::` in it, and the name after a
/// `struct`, `enum` or `variant` of serde's (`struct Order`, `enum Kind`).
fn strip_rust_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT + 8));
    let mut words = text.split(' ').peekable();
    while let Some(word) = words.next() {
        if word.contains("::") {
            continue;
        }
        if matches!(word, "struct" | "enum") {
            // serde's "struct Name": both words go.
            if words.peek().is_some() {
                words.next();
            }
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > MAX_TEXT {
            break;
        }
    }
    out.trim().to_owned()
}

/// `text`, cut to [`MAX_TEXT`] bytes at a character boundary (with `…`).
fn shorten(text: &str) -> String {
    if text.len() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::de::DeserializeOwned;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        size: u8,
        #[serde(default)]
        pair: Option<(u32, u32)>,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum Kind {
        Small,
        Large,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Order {
        #[serde(rename = "orderId")]
        order_id: String,
        #[serde(default)]
        items: Vec<Item>,
        #[serde(default)]
        tags: BTreeMap<String, Tag>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Tag {
        Text(String),
        Flag(bool),
    }

    /// A type whose `Deserialize` says something of its own, naming a Rust path.
    #[derive(Debug)]
    struct Picky;

    impl<'de> Deserialize<'de> for Picky {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let _ = serde::de::IgnoredAny::deserialize(d)?;
            Err(serde::de::Error::custom(
                "my_crate::model::Picky refuses it: the sum must be even",
            ))
        }
    }

    fn detail<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        let e = serde_json::from_str::<T>(json).unwrap_err();
        let detail = explain::<T>(json.as_bytes(), &e);
        for leak in [
            "::", "Order", "Item", "Kind", "Tag", "Picky", "struct", "enum ",
        ] {
            assert!(!detail.contains(leak), "{detail:?} names {leak:?}");
        }
        detail
    }

    #[test]
    fn invalid_type_names_the_path_and_the_json_kinds() {
        assert_eq!(detail::<Order>("42"), "expected an object, got a number");
        assert_eq!(
            detail::<Order>(r#"{"orderId": 7}"#),
            "at `/orderId`: expected a string, got a number"
        );
        assert_eq!(
            detail::<Order>(r#"{"orderId": "o", "items": [{"size": 1}, {"size": "big"}]}"#),
            "at `/items/1/size`: expected a number, got a string"
        );
        assert_eq!(
            detail::<Order>(r#"{"orderId": "o", "items": {}}"#),
            "at `/items`: expected an array, got an object"
        );
        assert_eq!(
            detail::<Order>(r#"{"orderId": null}"#),
            "at `/orderId`: expected a string, got null"
        );
        assert_eq!(
            data_message("invalid type: integer `3`, expected enum Kind"),
            "expected a string or an object, got a number"
        );
        assert_eq!(
            detail::<Order>(r#"{"orderId": "o", "items": [true]}"#),
            "at `/items/0`: expected an object, got a boolean"
        );
    }

    #[test]
    fn a_pointer_escapes_slash_and_tilde() {
        assert_eq!(
            detail::<BTreeMap<String, u8>>(r#"{"a/b~c": "x"}"#),
            "at `/a~1b~0c`: expected a number, got a string"
        );
    }

    #[test]
    fn invalid_value_says_the_range_not_the_rust_type() {
        assert_eq!(
            detail::<Order>(r#"{"orderId": "o", "items": [{"size": 300}]}"#),
            "at `/items/0/size`: invalid value (a number), expected an integer from 0 to 255"
        );
        assert_eq!(
            detail::<u32>("-1"),
            "invalid value (a number), expected an integer from 0 to 4294967295"
        );
    }

    #[test]
    fn invalid_length_says_the_counts() {
        assert_eq!(
            detail::<Order>(r#"{"orderId": "o", "items": [{"size": 1, "pair": [1]}]}"#),
            "at `/items/0/pair`: expected 2 elements, got 1 elements"
        );
    }

    #[test]
    fn missing_and_duplicate_fields_keep_the_json_name() {
        assert_eq!(detail::<Order>("{}"), "missing field `orderId`");
        assert_eq!(
            detail::<Order>(r#"{"orderId": "a", "orderId": "b"}"#),
            "duplicate field `orderId`"
        );
    }

    #[test]
    fn unknown_names_are_kept_and_the_list_dropped() {
        assert_eq!(
            detail::<Order>(r#"{"orderId": "o", "items": [{"size": 1, "colour": 2}]}"#),
            "at `/items/0/colour`: unknown field `colour`"
        );
        assert_eq!(
            detail::<Order>(r#"{"orderId": "o", "items": [{"size": 1, "kind": "huge"}]}"#),
            "at `/items/0/kind`: unknown variant `huge`"
        );
    }

    #[test]
    fn untagged_enums_name_no_type() {
        assert_eq!(
            detail::<Order>(r#"{"orderId": "o", "tags": {"a": 1}}"#),
            "at `/tags/a`: the value matches none of the accepted shapes"
        );
    }

    #[test]
    fn custom_messages_are_kept_without_rust_paths() {
        assert_eq!(
            detail::<Picky>("[1, 2]"),
            "refuses it: the sum must be even"
        );
        assert_eq!(
            data_message("struct Order is wrong"),
            "is wrong",
            "serde's `struct Name` goes"
        );
        assert_eq!(data_message("a::b::C"), "invalid value");
    }

    #[test]
    fn syntax_errors_keep_serde_json_s_text() {
        assert_eq!(
            detail::<Order>(r#"{"orderId": "#),
            "EOF while parsing a value at line 1 column 12"
        );
    }

    #[test]
    fn long_names_and_paths_are_shortened() {
        let key = "k".repeat(1000);
        let d = detail::<BTreeMap<String, u8>>(&format!(r#"{{"{key}": "x"}}"#));
        assert!(d.len() < 300, "{d}");
        assert!(d.starts_with("at `/kkk") && d.contains('…'), "{d}");
        let d = detail::<Item>(&format!(r#"{{"size": 1, "{key}": 0}}"#));
        assert!(d.len() < 400 && d.contains("unknown field `kkk"), "{d}");
    }

    #[test]
    fn errors_of_a_value_deserializer_have_no_position() {
        let value = serde_json::json!({"size": "x"});
        let e = Item::deserialize(&value).unwrap_err();
        assert_eq!(message(&e), "expected a number, got a string");
    }
}
