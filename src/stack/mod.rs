//! What the target is built with, learned from what it shows: headers, error
//! pages and bodies. Every conclusion keeps the evidence that led to it, and a
//! target with no tell-tale sign stays unknown.

use std::sync::Arc;

use serde::Serialize;

use crate::engine::Exchange;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stack {
    pub framework: Option<String>,
    pub server: Option<String>,
    pub technologies: Vec<String>,
    /// Why Rampart believes each part ("Server: Werkzeug/3.1 → flask").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// True when the user chose the stack with `--stack`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

/// Where a rule looks.
enum Place {
    ResponseHeader(&'static str),
    Body,
}

enum Conclusion {
    Framework(&'static str),
    Server(&'static str),
    Technology(&'static str),
}

struct Rule {
    place: Place,
    /// Case-insensitive substring.
    needle: &'static str,
    conclusions: &'static [Conclusion],
}

use Conclusion::{Framework, Server, Technology};
use Place::{Body, ResponseHeader};

/// Passive fingerprints, most telling first.
static RULES: &[Rule] = &[
    Rule {
        place: ResponseHeader("server"),
        needle: "werkzeug",
        conclusions: &[Server("werkzeug"), Framework("flask")],
    },
    Rule {
        place: Body,
        needle: "werkzeug debugger",
        conclusions: &[Framework("flask")],
    },
    Rule {
        place: ResponseHeader("server"),
        needle: "gunicorn",
        conclusions: &[Server("gunicorn")],
    },
    Rule {
        place: ResponseHeader("server"),
        needle: "uvicorn",
        conclusions: &[Server("uvicorn")],
    },
    Rule {
        place: ResponseHeader("server"),
        needle: "nginx",
        conclusions: &[Server("nginx")],
    },
    Rule {
        place: ResponseHeader("x-varnish"),
        needle: "",
        conclusions: &[Technology("varnish")],
    },
    Rule {
        place: ResponseHeader("via"),
        needle: "varnish",
        conclusions: &[Technology("varnish")],
    },
    Rule {
        place: ResponseHeader("x-powered-by"),
        needle: "express",
        conclusions: &[Framework("express")],
    },
    Rule {
        place: Body,
        needle: "you're seeing this error because you have <code>debug = true</code>",
        conclusions: &[Framework("django")],
    },
    Rule {
        place: Body,
        needle: "botocore",
        conclusions: &[Technology("dynamodb")],
    },
    Rule {
        place: Body,
        needle: "when calling the query operation",
        conclusions: &[Technology("dynamodb")],
    },
    Rule {
        place: Body,
        needle: "when calling the getitem operation",
        conclusions: &[Technology("dynamodb")],
    },
    Rule {
        place: Body,
        needle: "when calling the scan operation",
        conclusions: &[Technology("dynamodb")],
    },
    Rule {
        place: Body,
        needle: "dynamodb",
        conclusions: &[Technology("dynamodb")],
    },
];

impl Stack {
    /// A stack the user named, e.g. `flask+dynamodb`.
    pub fn forced(spec: &str) -> Self {
        let mut parts = spec.split('+').map(|p| p.trim().to_ascii_lowercase());
        Stack {
            framework: parts.next().filter(|p| !p.is_empty() && p != "generic"),
            server: None,
            technologies: parts.filter(|p| !p.is_empty()).collect(),
            evidence: vec![format!("chosen with --stack {spec}")],
            forced: true,
        }
    }

    /// Fingerprints a target from the exchanges seen so far.
    pub fn fingerprint(exchanges: &[Arc<Exchange>]) -> Self {
        let mut stack = Stack::default();
        // Lower-cased once: tell-tale text sits near the start of a body.
        let bodies: Vec<String> = exchanges
            .iter()
            .map(|e| {
                let text = e.body_text();
                let mut end = text.len().min(BODY_PREFIX);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text[..end].to_ascii_lowercase()
            })
            .collect();
        for rule in RULES {
            let hit = exchanges.iter().zip(&bodies).find_map(|(exchange, body)| {
                let (label, found) = match rule.place {
                    ResponseHeader(name) => {
                        let value = exchange.response_header(name)?.to_ascii_lowercase();
                        (name.to_string(), value.contains(rule.needle))
                    }
                    Body => ("body".to_string(), body.contains(rule.needle)),
                };
                found.then(|| {
                    format!(
                        "{} {} ({label})",
                        exchange.request.method,
                        exchange.endpoint_path()
                    )
                })
            });
            let Some(seen_at) = hit else { continue };
            for conclusion in rule.conclusions {
                let added = match conclusion {
                    Framework(name) => set_once(&mut stack.framework, name),
                    Server(name) => set_once(&mut stack.server, name),
                    Technology(name) => {
                        let new = !stack.technologies.iter().any(|t| t == name);
                        if new {
                            stack.technologies.push(name.to_string());
                        }
                        new
                    }
                };
                if added {
                    let needle = if rule.needle.is_empty() {
                        "present"
                    } else {
                        rule.needle
                    };
                    stack.evidence.push(format!("'{needle}' seen in {seen_at}"));
                }
            }
        }
        stack
    }

    /// Tokens that knowledge variants are keyed by.
    pub fn tokens(&self) -> Vec<String> {
        self.framework
            .iter()
            .chain(self.server.iter())
            .chain(self.technologies.iter())
            .cloned()
            .collect()
    }

    /// A `flask+dynamodb`-style label, or "unknown".
    pub fn label(&self) -> String {
        let tokens: Vec<String> = self
            .framework
            .iter()
            .chain(self.technologies.iter())
            .cloned()
            .collect();
        if tokens.is_empty() {
            "unknown".to_string()
        } else {
            tokens.join("+")
        }
    }
}

fn set_once(slot: &mut Option<String>, value: &str) -> bool {
    if slot.is_none() {
        *slot = Some(value.to_string());
        true
    } else {
        false
    }
}

/// How much of each body fingerprinting reads.
const BODY_PREFIX: usize = 64 * 1024;
