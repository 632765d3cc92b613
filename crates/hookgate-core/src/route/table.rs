//! The route table: which handler an event's `type` and `subject` select.
//!
//! Built once, then read without locks or allocation: the exact types are a slice
//! sorted by length, then bytes (a binary search whose comparisons are mostly
//! decided by the length, no hashing), the type prefixes a slice from the longest to
//! the shortest (the first that matches is the longest; a prefix whose first byte
//! differs from the type's is skipped without a `memcmp`), and each type key holds
//! its candidates from the longest subject prefix to none.

use crate::error::ConfigError;

/// The most routes a router holds: a router is configuration, not data.
pub(super) const MAX_ROUTES: usize = 4096;

/// How a route matches an event; see [`Route`](super::Route).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TypeMatch {
    Exact(Box<str>),
    Prefix(Box<str>),
}

#[derive(Debug)]
struct Candidate {
    subject: Option<Box<str>>,
    handler: usize,
}

impl Candidate {
    fn matches(&self, subject: Option<&str>) -> bool {
        match &self.subject {
            None => true,
            Some(prefix) => subject.is_some_and(|s| s.starts_with(&**prefix)),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Table {
    /// Sorted by type.
    exact: Vec<(Box<str>, Vec<Candidate>)>,
    /// From the longest prefix to the shortest.
    prefixes: Vec<(Box<str>, Vec<Candidate>)>,
}

/// The order of the exact types: by length, then by bytes.
#[inline]
fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether `ty` starts with `prefix`, looking at the first byte before the rest.
#[inline]
fn starts_with(ty: &str, prefix: &str) -> bool {
    match (prefix.as_bytes().first(), ty.as_bytes().first()) {
        (None, _) => true,
        (Some(p), Some(t)) if p == t => ty.starts_with(prefix),
        _ => false,
    }
}

fn pick(candidates: &[Candidate], subject: Option<&str>) -> Option<usize> {
    candidates
        .iter()
        .find(|c| c.matches(subject))
        .map(|c| c.handler)
}

impl Table {
    /// Builds the table of `routes` (route `i` calls handler `i`).
    pub(super) fn build(
        routes: impl IntoIterator<Item = (TypeMatch, Option<Box<str>>)>,
    ) -> Result<Self, ConfigError> {
        let mut table = Self::default();
        for (handler, (ty, subject)) in routes.into_iter().enumerate() {
            if handler >= MAX_ROUTES {
                return Err(ConfigError(format!(
                    "a router holds at most {MAX_ROUTES} routes"
                )));
            }
            let (list, key, what) = match ty {
                TypeMatch::Exact(key) => {
                    if key.is_empty() {
                        return Err(ConfigError(
                            "a route's exact type must not be empty (a CloudEvent's type never is)"
                                .into(),
                        ));
                    }
                    (&mut table.exact, key, "type")
                }
                TypeMatch::Prefix(key) => (&mut table.prefixes, key, "type prefix"),
            };
            if subject.as_deref() == Some("") {
                return Err(ConfigError(
                    "a route's subject prefix must not be empty: leave it out to match any subject"
                        .into(),
                ));
            }
            let index = match list.iter().position(|(k, _)| *k == key) {
                Some(index) => index,
                None => {
                    list.push((key.clone(), Vec::new()));
                    list.len() - 1
                }
            };
            let candidates = &mut list[index].1;
            if candidates.iter().any(|c| c.subject == subject) {
                return Err(ConfigError(format!(
                    "two routes for the {what} `{key}`{}: keep one",
                    match &subject {
                        Some(s) => format!(" and the subject prefix `{s}`"),
                        None => String::new(),
                    }
                )));
            }
            candidates.push(Candidate { subject, handler });
        }
        for (_, candidates) in table.exact.iter_mut().chain(&mut table.prefixes) {
            // The longest subject prefix first, no subject prefix last; stable, so
            // equal lengths keep the order of registration (they cannot both match
            // unless one is the other, which is refused above).
            candidates.sort_by_key(|c| std::cmp::Reverse(c.subject.as_ref().map(|s| s.len())));
        }
        table.exact.sort_by(|a, b| by_length(&a.0, &b.0));
        table
            .prefixes
            .sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        Ok(table)
    }

    /// The handler of an event of type `ty` and `subject`: the exact type first,
    /// then the longest type prefix; within one, the longest matching subject
    /// prefix, then the route without one.
    #[inline]
    pub(super) fn find(&self, ty: &str, subject: Option<&str>) -> Option<usize> {
        if let Ok(i) = self.exact.binary_search_by(|(k, _)| by_length(k, ty))
            && let Some(handler) = pick(&self.exact[i].1, subject)
        {
            return Some(handler);
        }
        self.prefixes
            .iter()
            .filter(|(prefix, _)| starts_with(ty, prefix))
            .find_map(|(_, candidates)| pick(candidates, subject))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(s: &str) -> TypeMatch {
        TypeMatch::Exact(s.into())
    }
    fn prefix(s: &str) -> TypeMatch {
        TypeMatch::Prefix(s.into())
    }

    #[test]
    fn precedence() {
        let table = Table::build([
            (prefix("a."), None),                // 0
            (exact("a.b"), None),                // 1
            (prefix("a.b"), None),               // 2
            (exact("a.b"), Some("/x/".into())),  // 3
            (prefix(""), Some("/y/".into())),    // 4
            (exact("a.b"), Some("/x/y".into())), // 5
        ])
        .unwrap();
        assert_eq!(table.find("a.b", None), Some(1));
        assert_eq!(table.find("a.b", Some("/x/1")), Some(3));
        assert_eq!(table.find("a.b", Some("/x/y1")), Some(5));
        assert_eq!(table.find("a.bc", None), Some(2));
        assert_eq!(table.find("a.c", Some("/y/1")), Some(0));
        assert_eq!(table.find("z", Some("/y/1")), Some(4));
        assert_eq!(table.find("z", Some("/x/1")), None);
        assert_eq!(table.find("z", None), None);
    }

    #[test]
    fn subject_only_routes_fall_through_to_prefixes() {
        let table = Table::build([(exact("t"), Some("/a".into())), (prefix("t"), None)]).unwrap();
        assert_eq!(table.find("t", Some("/b")), Some(1));
        assert_eq!(table.find("t", None), Some(1));
        assert_eq!(table.find("t", Some("/a1")), Some(0));
    }

    #[test]
    fn refused_configurations() {
        assert!(Table::build([(exact(""), None)]).is_err());
        assert!(Table::build([(exact("t"), None), (exact("t"), None)]).is_err());
        assert!(Table::build([(prefix("t"), Some("".into()))]).is_err());
        assert!(Table::build((0..=MAX_ROUTES).map(|i| (exact(&i.to_string()), None))).is_err());
        assert!(Table::build([(exact("t"), None), (prefix("t"), None)]).is_ok());
    }
}
