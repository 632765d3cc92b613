//! The value parsers every concern shares: a file scalar, durations, sizes, counts
//! and addresses, each failing with a [`ConfigProblem`] that names its setting.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigProblem;

/// A number or a string in the file (`lease = 300` or `lease = "5m"`).
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub(crate) enum Scalar {
    Int(i64),
    Text(String),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Self::Int(n) => n.to_string(),
            Self::Text(text) => text,
        }
    }
}

/// The flag (or environment) value, else the file's.
pub(crate) fn text(flag: Option<String>, file: Option<Scalar>) -> Option<String> {
    flag.or(file.map(Scalar::into_text))
}

/// The flag's list (or environment's) when not empty, else the file's.
pub(crate) fn list(flag: Vec<String>, file: Option<Vec<String>>) -> Vec<String> {
    if flag.is_empty() {
        file.unwrap_or_default()
    } else {
        flag
    }
}

pub(crate) fn parse_addr(key: &'static str, text: &str) -> Result<SocketAddr, ConfigProblem> {
    text.trim().parse().map_err(|_| {
        ConfigProblem::new(
            key,
            format!("{text:?} is not an address such as 127.0.0.1:8080 or [::1]:8080"),
        )
    })
}

/// The leading decimal number of `text` (trimmed) and what follows it: `500ms` is
/// `(500, "ms")`; `None` without a number.
fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    Some((number.parse().ok()?, unit))
}

/// `500ms`, `20s`, `5m`, `24h`, or a number of seconds.
pub(crate) fn parse_duration(
    key: &'static str,
    text: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigProblem> {
    let Some(text) = text else {
        return Ok(default);
    };
    let bad = || {
        ConfigProblem::new(
            key,
            format!("{text:?} is not a duration such as 500ms, 20s, 5m or 24h"),
        )
    };
    let (n, unit) = number_and_unit(&text).ok_or_else(bad)?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(bad()),
    };
    if duration.is_zero() {
        return Err(ConfigProblem::new(key, "must be more than zero"));
    }
    if duration > Duration::from_secs(30 * 24 * 3600) {
        return Err(ConfigProblem::new(key, "must be at most 30 days"));
    }
    Ok(duration)
}

pub(crate) fn parse_size(
    key: &'static str,
    text: Option<String>,
    default: usize,
) -> Result<usize, ConfigProblem> {
    let Some(text) = text else {
        return Ok(default);
    };
    let bad = || {
        ConfigProblem::new(
            key,
            format!("{text:?} is not a size such as 65536, 64k or 1M"),
        )
    };
    let (n, unit) = number_and_unit(&text).ok_or_else(bad)?;
    let n = usize::try_from(n).map_err(|_| bad())?;
    let factor = match unit {
        "" => 1,
        "k" | "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        _ => return Err(bad()),
    };
    let size = n.checked_mul(factor).ok_or_else(bad)?;
    if size == 0 || size > 256 << 20 {
        return Err(ConfigProblem::new(key, "must be between 1 byte and 256M"));
    }
    Ok(size)
}

pub(crate) fn parse_count(
    key: &'static str,
    text: Option<String>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ConfigProblem> {
    let Some(text) = text else {
        return Ok(default);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigProblem::new(
            key,
            format!(
                "{text:?} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// `url` for `config check` and the logs: its userinfo (user name and password) and
/// its query (which may hold a key, `?code=`) replaced by `***`.
/// The one rule for every URL setting: a URL with a password is refused when it was
/// given on the command line (`ps` shows argv), not by its environment variable
/// `var` (which clap reads into the same field). `instead` says where it may go.
pub(crate) fn no_password_in_argv(
    key: &'static str,
    given: Option<&String>,
    var: &str,
    env: super::Env<'_>,
    instead: &str,
) -> Result<(), ConfigProblem> {
    match given {
        Some(url)
            if env(var).as_ref() != Some(url)
                && reqwest::Url::parse(url).is_ok_and(|u| u.password().is_some()) =>
        {
            Err(ConfigProblem::new(
                key,
                format!(
                    "a URL with a password is refused on the command line (`ps` shows it): \
                     set {var}{instead}"
                ),
            ))
        }
        _ => Ok(()),
    }
}

pub(crate) fn redact_url(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_password(None);
        let _ = url.set_username("***");
    }
    if url.query().is_some() {
        url.set_query(Some("***"));
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_userinfo_or_query() {
        let url =
            reqwest::Url::parse("https://user:pa55@example.test:8443/events?code=k3y#x").unwrap();
        let shown = redact_url(&url);
        assert_eq!(shown, "https://***@example.test:8443/events?***#x");
        let plain = reqwest::Url::parse("http://127.0.0.1:9000/events").unwrap();
        assert_eq!(redact_url(&plain), "http://127.0.0.1:9000/events");
    }

    #[test]
    fn durations_and_sizes_read_a_number_and_a_unit() {
        let d = |t: &str| parse_duration("t", Some(t.to_owned()), Duration::ZERO);
        assert_eq!(d(" 500ms ").unwrap(), Duration::from_millis(500));
        assert_eq!(d("20").unwrap(), Duration::from_secs(20));
        assert_eq!(d("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(d("24h").unwrap(), Duration::from_secs(86_400));
        for bad in ["", "ms", "5 m", "5d", "-1s", "soon"] {
            assert!(
                d(bad).unwrap_err().to_string().contains("not a duration"),
                "{bad}"
            );
        }
        assert!(d("0s").is_err() && d("31d").is_err() && d("800h").is_err());
        assert_eq!(
            parse_duration("t", None, Duration::from_secs(7)).unwrap(),
            Duration::from_secs(7)
        );
        let z = |t: &str| parse_size("t", Some(t.to_owned()), 0);
        assert_eq!(z("65536").unwrap(), 65_536);
        assert_eq!(z("64k").unwrap(), 64 << 10);
        assert_eq!(z("1MiB").unwrap(), 1 << 20);
        for bad in ["", "k", "1G", "1.5M", "99999999999999999999"] {
            assert!(
                z(bad).unwrap_err().to_string().contains("not a size"),
                "{bad}"
            );
        }
    }
}
