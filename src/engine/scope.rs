//! Scope: Rampart only ever talks to the target's own origin.

use url::{Host, Url};

#[derive(Debug, Clone)]
pub struct Scope {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Scope {
    pub fn for_target(target: &Url) -> Self {
        Scope {
            scheme: target.scheme().to_ascii_lowercase(),
            host: target.host_str().unwrap_or_default().to_ascii_lowercase(),
            port: target.port_or_known_default(),
        }
    }

    /// Same scheme, host and port as the target.
    pub fn contains(&self, url: &Url) -> bool {
        url.scheme().eq_ignore_ascii_case(&self.scheme)
            && url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && url.port_or_known_default() == self.port
    }
}

/// True for 127.0.0.0/8, ::1 and `localhost` names: traffic that never
/// leaves the scanning machine.
pub fn is_loopback(target: &Url) -> bool {
    match target.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_targets_origin_is_in_scope() {
        let scope = Scope::for_target(&Url::parse("http://127.0.0.1:8080/api").unwrap());
        assert!(scope.contains(&Url::parse("http://127.0.0.1:8080/other?x=1").unwrap()));
        assert!(!scope.contains(&Url::parse("http://127.0.0.1:8081/").unwrap()));
        assert!(!scope.contains(&Url::parse("https://127.0.0.1:8080/").unwrap()));
        assert!(!scope.contains(&Url::parse("http://evil.example:8080/").unwrap()));
        let https = Scope::for_target(&Url::parse("https://api.test").unwrap());
        assert!(https.contains(&Url::parse("https://API.test:443/x").unwrap()));
    }

    #[test]
    fn loopback_targets_are_recognised() {
        for url in [
            "http://127.0.0.1:5000/",
            "http://[::1]/",
            "http://localhost:8080/api",
            "http://app.localhost/",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "http://api.example.com/",
            "http://10.0.0.5/",
            "http://localhost.example.com/",
        ] {
            assert!(!is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }
}
