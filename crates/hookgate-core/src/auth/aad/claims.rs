//! The claims of a token: [`AadClaims`], their parsing, the time and audience
//! checks, and authorization (tenant, application, roles).

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Error, ErrorKind, excerpt};

/// The claims of a validated token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AadClaims {
    /// Tenant id (`tid`).
    pub tenant_id: Option<String>,
    /// Object id of the caller (`oid`).
    pub object_id: Option<String>,
    /// Application id of the caller (`appid` in v1 tokens, `azp` in v2).
    pub app_id: Option<String>,
    /// Application roles (`roles`).
    pub roles: Vec<String>,
    /// Subject (`sub`).
    pub subject: Option<String>,
    /// The audience the token was accepted for (`aud`; of an array, the first
    /// accepted one).
    pub audience: String,
    /// The issuer (`iss`).
    pub issuer: String,
    /// Expiry, seconds since the Unix epoch (`exp`).
    pub expires_at: u64,
    /// The token version (`ver`: `1.0` or `2.0`).
    pub version: Option<String>,
}

/// `aud`: one string or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims hookgate reads; others are ignored. A claim given twice makes the
/// token invalid (serde refuses duplicate fields).
#[derive(Deserialize)]
pub(super) struct RawClaims {
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    nbf: Option<serde_json::Number>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    ver: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidCredentials, detail)
}

fn forbidden(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::Forbidden, detail)
}

/// A NumericDate as whole seconds: `floor` for `exp`, `ceil` for `nbf` (a fraction
/// never widens the validity).
fn seconds(n: &serde_json::Number, round_up: bool, name: &str) -> Result<u64, Error> {
    if let Some(s) = n.as_u64() {
        return Ok(s);
    }
    match n.as_f64() {
        Some(f) if (0.0..1e15).contains(&f) => {
            let s = if round_up { f.ceil() } else { f.floor() };
            // In range: checked above.
            Ok(s as u64)
        }
        _ => Err(invalid(format!(
            "the `{name}` claim is not a date in seconds since the epoch"
        ))),
    }
}

/// RFC 3339 for a detail, or the bare number when out of range.
pub(super) fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| secs.to_string())
}

/// The time window: `exp` (required) and `nbf` (optional), with `skew` seconds of
/// tolerance either way.
pub(super) fn check_time(exp: u64, nbf: Option<u64>, now: u64, skew: u64) -> Result<(), Error> {
    if now > exp.saturating_add(skew) {
        return Err(invalid(format!(
            "the token expired at {} (now {}, clock skew allowed {skew} s)",
            rfc3339(exp),
            rfc3339(now)
        )));
    }
    if let Some(nbf) = nbf
        && now.saturating_add(skew) < nbf
    {
        return Err(invalid(format!(
            "the token is not valid before {} (now {}, clock skew allowed {skew} s)",
            rfc3339(nbf),
            rfc3339(now)
        )));
    }
    Ok(())
}

/// The claims of a token whose signature has been checked, before the issuer check.
#[derive(Debug)]
pub(super) struct Checked {
    pub(super) claims: AadClaims,
    pub(super) not_before: Option<u64>,
}

impl RawClaims {
    /// Parses the payload JSON.
    pub(super) fn parse(json: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(json).map_err(|e| {
            invalid(format!(
                "the token payload is not a JSON object of the expected claims ({})",
                excerpt(&e.to_string())
            ))
        })
    }

    /// Checks `exp`, `nbf` and `aud`, and keeps what [`AadClaims`] carries.
    pub(super) fn check(self, audiences: &[String], now: u64, skew: u64) -> Result<Checked, Error> {
        let exp = self
            .exp
            .as_ref()
            .ok_or_else(|| invalid("the token has no `exp` claim"))
            .and_then(|n| seconds(n, false, "exp"))?;
        let nbf = self
            .nbf
            .as_ref()
            .map(|n| seconds(n, true, "nbf"))
            .transpose()?;
        check_time(exp, nbf, now, skew)?;

        let audience = match self.aud {
            None => return Err(invalid("the token has no `aud` claim")),
            Some(Audience::One(aud)) => {
                if audiences.contains(&aud) {
                    aud
                } else {
                    return Err(wrong_audience(&[aud], audiences));
                }
            }
            Some(Audience::Many(list)) => match list.iter().find(|a| audiences.contains(a)) {
                Some(aud) => aud.clone(),
                None => return Err(wrong_audience(&list, audiences)),
            },
        };
        let issuer = self
            .iss
            .ok_or_else(|| invalid("the token has no `iss` claim"))?;
        Ok(Checked {
            claims: AadClaims {
                tenant_id: self.tid,
                object_id: self.oid,
                app_id: self.appid.or(self.azp),
                roles: self.roles.unwrap_or_default(),
                subject: self.sub,
                audience,
                issuer,
                expires_at: exp,
                version: self.ver,
            },
            not_before: nbf,
        })
    }
}

fn wrong_audience(got: &[String], accepted: &[String]) -> Error {
    let got: Vec<String> = got
        .iter()
        .take(4)
        .map(|a| format!("`{}`", excerpt(a)))
        .collect();
    let accepted: Vec<String> = accepted.iter().map(|a| format!("`{a}`")).collect();
    invalid(format!(
        "audience {} is not accepted (accepted: {})",
        if got.is_empty() {
            "[]".to_owned()
        } else {
            got.join(", ")
        },
        accepted.join(", ")
    ))
}

/// Who may call: the allowlists and the required roles, checked on every request
/// (also for a token found in the verified-token cache).
#[derive(Clone, Debug, Default)]
pub(super) struct Authorization {
    /// Lowercase tenant ids; empty = any.
    pub(super) tenants: Vec<String>,
    /// Application ids (`appid`/`azp`), compared case-insensitively; empty = any.
    pub(super) app_ids: Vec<String>,
    /// Every one of these roles must be present.
    pub(super) roles: Vec<String>,
}

impl Authorization {
    pub(super) fn check(&self, claims: &AadClaims) -> Result<(), Error> {
        if !self.tenants.is_empty() {
            match &claims.tenant_id {
                None => {
                    return Err(forbidden(
                        "the token has no `tid` claim, and only listed tenants are allowed",
                    ));
                }
                Some(tid) if !self.tenants.iter().any(|t| t.eq_ignore_ascii_case(tid)) => {
                    return Err(forbidden(format!(
                        "tenant `{}` is not allowed",
                        excerpt(tid)
                    )));
                }
                Some(_) => {}
            }
        }
        if !self.app_ids.is_empty() {
            match &claims.app_id {
                None => {
                    return Err(forbidden(
                        "the token has no `appid` or `azp` claim, and only listed applications \
                         are allowed",
                    ));
                }
                Some(app) if !self.app_ids.iter().any(|a| a.eq_ignore_ascii_case(app)) => {
                    return Err(forbidden(format!(
                        "application `{}` is not allowed",
                        excerpt(app)
                    )));
                }
                Some(_) => {}
            }
        }
        let missing: Vec<String> = self
            .roles
            .iter()
            .filter(|r| !claims.roles.contains(r))
            .map(|r| format!("`{r}`"))
            .collect();
        if !missing.is_empty() {
            return Err(forbidden(format!(
                "the token lacks the required role{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> RawClaims {
        RawClaims::parse(json.as_bytes()).unwrap()
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn time_window() {
        assert!(check_time(NOW, None, NOW + 300, 300).is_ok());
        let err = check_time(NOW, None, NOW + 301, 300).unwrap_err();
        assert!(
            err.detail().contains("expired at 2027-01-15T08:00:00Z"),
            "{}",
            err.detail()
        );
        assert!(check_time(NOW + 1000, Some(NOW + 300), NOW, 300).is_ok());
        let err = check_time(NOW + 1000, Some(NOW + 301), NOW, 300).unwrap_err();
        assert!(
            err.detail().contains("not valid before"),
            "{}",
            err.detail()
        );
    }

    #[test]
    fn audiences_and_dates() {
        let aud = vec!["api://x".to_owned(), "client".to_owned()];
        let ok =
            raw(r#"{"aud":"client","iss":"i","exp":1800000000.9,"nbf":1.2,"appid":"a","azp":"b"}"#)
                .check(&aud, NOW, 0)
                .unwrap();
        assert_eq!(ok.claims.audience, "client");
        assert_eq!(ok.claims.expires_at, NOW);
        assert_eq!(ok.not_before, Some(2));
        assert_eq!(ok.claims.app_id.as_deref(), Some("a"));
        let many = raw(r#"{"aud":["other","api://x"],"iss":"i","exp":1800000000}"#)
            .check(&aud, NOW, 0)
            .unwrap();
        assert_eq!(many.claims.audience, "api://x");
        let err = raw(r#"{"aud":"other","iss":"i","exp":1800000000}"#)
            .check(&aud, NOW, 0)
            .unwrap_err();
        assert_eq!(
            err.detail(),
            "audience `other` is not accepted (accepted: `api://x`, `client`)"
        );
        for (json, expected) in [
            (r#"{"iss":"i","exp":1800000000}"#, "no `aud`"),
            (r#"{"aud":"client","exp":1800000000}"#, "no `iss`"),
            (r#"{"aud":"client","iss":"i"}"#, "no `exp`"),
            (
                r#"{"aud":"client","iss":"i","exp":-1}"#,
                "`exp` claim is not a date",
            ),
        ] {
            let err = raw(json).check(&aud, NOW, 0).unwrap_err();
            assert!(err.detail().contains(expected), "{json}: {}", err.detail());
        }
        assert!(RawClaims::parse(br#"{"aud":"a","aud":"b"}"#).is_err());
        assert!(RawClaims::parse(br#"{"roles":"one"}"#).is_err());
    }

    #[test]
    fn authorization() {
        let claims = AadClaims {
            tenant_id: Some("t1".into()),
            app_id: Some("APP".into()),
            roles: vec!["r1".into(), "r2".into()],
            ..AadClaims::default()
        };
        let mut auth = Authorization::default();
        assert!(auth.check(&claims).is_ok());
        auth.tenants = vec!["t1".into()];
        auth.app_ids = vec!["app".into()];
        auth.roles = vec!["r2".into(), "r1".into()];
        assert!(auth.check(&claims).is_ok());
        auth.roles.push("r3".into());
        let err = auth.check(&claims).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Forbidden);
        assert_eq!(err.detail(), "the token lacks the required role `r3`");
        auth.roles.clear();
        auth.tenants = vec!["t2".into()];
        assert_eq!(
            auth.check(&claims).unwrap_err().detail(),
            "tenant `t1` is not allowed"
        );
        auth.tenants.clear();
        auth.app_ids = vec!["other".into()];
        assert_eq!(
            auth.check(&claims).unwrap_err().detail(),
            "application `APP` is not allowed"
        );
    }
}
