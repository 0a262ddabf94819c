//! Who Rampart speaks as: named identities, each a set of headers, and
//! (from an identity file) how an identity logs in or signs its requests.

pub mod file;
pub mod signing;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdentityError {
    #[error("header for identity '{identity}' must look like 'Name: value'")]
    MalformedHeader { identity: String },
    #[error("identity name '{0}' must be 1-64 letters, digits, '-' or '_'")]
    BadName(String),
    #[error("'anonymous' is reserved for requests without credentials")]
    Reserved,
}

/// Parses `Name: value` as given on the command line.
pub fn parse_header(raw: &str) -> Option<(String, String)> {
    let (name, value) = raw.split_once(':')?;
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let value = value.trim();
    let valid_value = !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
    (valid_name && valid_value).then(|| (name.to_string(), value.to_string()))
}

/// Builds identities from `(name, header)` pairs; a repeated name adds a header.
pub fn identities_from_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Identity>, IdentityError> {
    let mut identities: Vec<Identity> = Vec::new();
    for (name, raw_header) in pairs {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(IdentityError::BadName(name.to_string()));
        }
        if name.eq_ignore_ascii_case("anonymous") {
            return Err(IdentityError::Reserved);
        }
        let header = parse_header(raw_header).ok_or_else(|| IdentityError::MalformedHeader {
            identity: name.to_string(),
        })?;
        match identities.iter_mut().find(|i| i.name == name) {
            Some(identity) => identity.headers.push(header),
            None => identities.push(Identity {
                name: name.to_string(),
                headers: vec![header],
            }),
        }
    }
    Ok(identities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_add_headers() {
        let ids = identities_from_pairs([
            ("alice", "X-API-Key: a1"),
            ("bob", "Authorization: Bearer b"),
            ("alice", "X-Tenant: t"),
        ])
        .unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].headers.len(), 2);
        assert_eq!(
            ids[1].headers[0],
            ("Authorization".into(), "Bearer b".into())
        );
    }

    #[test]
    fn malformed_input_is_refused_without_echoing_the_secret() {
        let err = identities_from_pairs([("alice", "no-colon-secret")]).unwrap_err();
        assert!(!err.to_string().contains("no-colon-secret"));
        assert!(identities_from_pairs([("a b", "X: y")]).is_err());
        assert!(identities_from_pairs([("alice", "X: a\r\nInjected: 1")]).is_err());
        assert_eq!(
            identities_from_pairs([("anonymous", "X: y")]).unwrap_err(),
            IdentityError::Reserved
        );
    }
}
