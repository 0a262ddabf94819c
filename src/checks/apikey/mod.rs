//! Static API keys: where an API accepts them and where it shows them.

pub mod in_query;
pub mod reflected;

use crate::checks::Family;
use crate::identity::Identity;

/// The family's checks, in the order `rampart checks` lists them.
pub static FAMILY: Family = Family {
    module: module_path!(),
    checks: &[&in_query::META, &reflected::META],
};

/// The identity's header that carries an API key, if any: a header named
/// like a key whose value is a bare token.
pub(crate) fn api_key_header(identity: &Identity) -> Option<(String, String)> {
    identity
        .headers
        .iter()
        .find(|(name, value)| {
            let name = name.to_ascii_lowercase();
            (name.contains("key") || name.contains("token"))
                && !value.contains(' ')
                && value.len() >= 8
        })
        .cloned()
}
