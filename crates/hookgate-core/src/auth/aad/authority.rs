//! Where the keys come from (OIDC discovery) and which issuers are accepted.

use url::Url;

use crate::error::{ConfigError, Error, ErrorKind, excerpt};

/// The placeholder in an issuer template that stands for the token's `tid`.
pub(super) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The public Azure cloud's authority host.
pub(super) const AZURE_AUTHORITY_HOST: &str = "https://login.microsoftonline.com/";

/// The v1 token issuer of the public Azure cloud.
const AZURE_V1_ISSUER: &str = "https://sts.windows.net/{tenantid}/";

/// The authority a policy was configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Authority {
    /// One Azure AD tenant, by id (lowercase GUID).
    Tenant(String),
    /// Any Azure AD tenant: `organizations` or `common`.
    AnyTenant(String),
    /// A custom OpenID Connect authority (or its discovery document URL).
    Custom(Url),
}

impl Authority {
    /// Parses what [`AadPolicyBuilder::authority`](super::AadPolicyBuilder::authority)
    /// was given.
    pub(super) fn parse(value: &str) -> Result<Self, ConfigError> {
        let value = value.trim();
        if value.starts_with("https://") || value.starts_with("http://") {
            let url = Url::parse(value)
                .map_err(|e| ConfigError(format!("authority `{value}` is not a URL: {e}")))?;
            check_fetch_url(&url).map_err(|e| ConfigError(format!("authority: {e}")))?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(ConfigError(format!(
                    "authority `{value}` must not have a query or a fragment"
                )));
            }
            return Ok(Self::Custom(url));
        }
        for any in ["organizations", "common"] {
            if value.eq_ignore_ascii_case(any) {
                return Ok(Self::AnyTenant(any.to_owned()));
            }
        }
        if is_guid(value) {
            return Ok(Self::Tenant(value.to_ascii_lowercase()));
        }
        Err(ConfigError(format!(
            "authority `{value}` is neither a tenant id (a GUID), `organizations`, `common` \
             nor an http(s) URL"
        )))
    }

    /// The URL of the OpenID configuration (discovery document).
    pub(super) fn discovery_url(&self, host: &Url) -> Result<Url, ConfigError> {
        let url = match self {
            Self::Tenant(tenant) | Self::AnyTenant(tenant) => {
                host.join(&format!("{tenant}/v2.0/.well-known/openid-configuration"))
            }
            Self::Custom(url) => {
                if url.path().ends_with("/.well-known/openid-configuration") {
                    return Ok(url.clone());
                }
                let mut base = url.clone();
                if !base.path().ends_with('/') {
                    let path = format!("{}/", base.path());
                    base.set_path(&path);
                }
                base.join(".well-known/openid-configuration")
            }
        };
        url.map_err(|e| ConfigError(format!("cannot build the discovery URL: {e}")))
    }

    /// The default accepted issuers; `None` for a custom authority, whose issuer is
    /// the one its discovery document names.
    pub(super) fn default_issuers(&self, host: &Url) -> Option<Vec<String>> {
        let v2 = format!("{host}{TENANT_PLACEHOLDER}/v2.0");
        match self {
            Self::Tenant(tenant) => Some(vec![
                AZURE_V1_ISSUER.replace(TENANT_PLACEHOLDER, tenant),
                v2.replace(TENANT_PLACEHOLDER, tenant),
            ]),
            Self::AnyTenant(_) => Some(vec![AZURE_V1_ISSUER.to_owned(), v2]),
            Self::Custom(_) => None,
        }
    }
}

/// Parses and checks the Azure authority host (the base of the tenant forms).
pub(super) fn parse_host(value: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(value.trim())
        .map_err(|e| ConfigError(format!("authority host `{value}` is not a URL: {e}")))?;
    check_fetch_url(&url).map_err(|e| ConfigError(format!("authority host: {e}")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError(format!(
            "authority host `{value}` must not have a query or a fragment"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Keys are fetched over https; plain http only from a loopback host (a local test
/// issuer), never across a network.
pub(super) fn check_fetch_url(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "`{url}` uses plain http, which is only allowed for a loopback host"
        )),
        other => Err(format!("`{url}` has the unsupported scheme `{other}`")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `8-4-4-4-12` hex digits.
pub(super) fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Checks the token's `iss` (with its `tid` for templates): it must equal one of
/// `accepted` exactly, after `{tenantid}` is replaced by the token's `tid`.
pub(super) fn check_issuer(accepted: &[String], iss: &str, tid: Option<&str>) -> Result<(), Error> {
    let tid = tid.filter(|t| !t.is_empty());
    let mut needed_tid = false;
    for issuer in accepted {
        match (issuer.split_once(TENANT_PLACEHOLDER), tid) {
            (None, _) if issuer == iss => return Ok(()),
            (None, _) => {}
            (Some((before, after)), Some(tid)) => {
                let middle = iss
                    .strip_prefix(before)
                    .and_then(|rest| rest.strip_suffix(after));
                if middle == Some(tid) {
                    return Ok(());
                }
            }
            (Some(_), None) => needed_tid = true,
        }
    }
    if needed_tid {
        return Err(Error::new(
            ErrorKind::InvalidCredentials,
            format!(
                "the token has no `tid` claim, which is needed to check its issuer `{}`",
                excerpt(iss)
            ),
        ));
    }
    let expected: Vec<String> = accepted
        .iter()
        .map(|i| match tid {
            Some(tid) => format!("`{}`", i.replace(TENANT_PLACEHOLDER, &excerpt(tid))),
            None => format!("`{i}`"),
        })
        .collect();
    Err(Error::new(
        ErrorKind::InvalidCredentials,
        format!(
            "issuer `{}` is not accepted (expected {}{})",
            excerpt(iss),
            if expected.len() == 1 { "" } else { "one of " },
            expected.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn authorities() {
        assert_eq!(
            Authority::parse(&TID.to_uppercase()).unwrap(),
            Authority::Tenant(TID.into())
        );
        assert_eq!(
            Authority::parse("Common").unwrap(),
            Authority::AnyTenant("common".into())
        );
        assert!(Authority::parse("contoso.onmicrosoft.com").is_err());
        assert!(Authority::parse("http://login.example.com/t").is_err());
        assert!(Authority::parse("http://127.0.0.1:8080/t/v2.0").is_ok());
        assert!(Authority::parse("http://localhost:8080/t").is_ok());
        assert!(Authority::parse("ftp://127.0.0.1/").is_err());
    }

    #[test]
    fn discovery_urls() {
        let host = parse_host(AZURE_AUTHORITY_HOST).unwrap();
        let tenant = Authority::parse(TID).unwrap();
        assert_eq!(
            tenant.discovery_url(&host).unwrap().as_str(),
            format!(
                "https://login.microsoftonline.com/{TID}/v2.0/.well-known/openid-configuration"
            )
        );
        for (custom, expected) in [
            (
                "https://issuer.example/tenant/v2.0",
                "https://issuer.example/tenant/v2.0/.well-known/openid-configuration",
            ),
            (
                "https://issuer.example/tenant/",
                "https://issuer.example/tenant/.well-known/openid-configuration",
            ),
            (
                "https://issuer.example/x/.well-known/openid-configuration",
                "https://issuer.example/x/.well-known/openid-configuration",
            ),
        ] {
            let a = Authority::parse(custom).unwrap();
            assert_eq!(a.discovery_url(&host).unwrap().as_str(), expected);
        }
    }

    #[test]
    fn issuer_templates() {
        let host = parse_host("https://login.microsoftonline.com").unwrap();
        let any = Authority::parse("organizations")
            .unwrap()
            .default_issuers(&host)
            .unwrap();
        let v1 = format!("https://sts.windows.net/{TID}/");
        let v2 = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert!(check_issuer(&any, &v1, Some(TID)).is_ok());
        assert!(check_issuer(&any, &v2, Some(TID)).is_ok());
        // The issuer of another tenant than the token's `tid`.
        let other = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/";
        let err = check_issuer(&any, other, Some(TID)).unwrap_err();
        assert!(err.detail().contains("is not accepted"), "{}", err.detail());
        assert!(
            check_issuer(&any, &v1, None)
                .unwrap_err()
                .detail()
                .contains("`tid`")
        );
        assert!(check_issuer(&any, &format!("{v1}x"), Some(TID)).is_err());

        let one = Authority::parse(TID)
            .unwrap()
            .default_issuers(&host)
            .unwrap();
        assert!(check_issuer(&one, &v2, None).is_ok());
        assert!(check_issuer(&one, other, Some(TID)).is_err());
    }
}
