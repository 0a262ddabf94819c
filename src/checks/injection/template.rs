//! Server-side template injection.
//!
//! An API that builds a template from input (`render_template_string(
//! "Hi " + name)`) lets the caller write template code, and template engines
//! such as Jinja2, Twig, FreeMarker or ERB reach the interpreter that runs
//! them: from `{{ 7*7 }}` it is a short step to reading the configuration
//! and running commands. Rampart sends an arithmetic canary — the product
//! of two random five-digit numbers, written in each engine's syntax — and
//! proves evaluation when the product, which the input never contains,
//! comes back; a fresh pair of numbers in the one syntax that worked
//! confirms it and names the engine family.

use async_trait::async_trait;

use super::{focus, shown, Halt, InputCheck, Payload, Point};
use crate::checks::{CheckMeta, Mode, RunsOn};
use crate::facts::Needs;
use crate::finding::{Category, Confidence, FindingDraft, Severity};

pub struct Template;

pub static META: CheckMeta = CheckMeta {
    check: &Template,
    id: "injection.template",
    category: Category::InputValidation,
    severity: Severity::Critical,
    summary:
        "Server-side template injection: input evaluated by a template engine (arithmetic canary)",
    mode: Mode::Active,
    runs_on: RunsOn::Endpoints,
    min_identities: 0,
    needs: Needs::RESPONSE_VALUES,
};

/// Expression syntaxes: how each engine family writes `a*b`.
const SYNTAXES: &[(&str, &str)] = &[
    (
        "{{a*b}}",
        "Jinja2, Twig, Nunjucks and other double-brace engines",
    ),
    (
        "${a*b}",
        "FreeMarker, Mako, Thymeleaf, JavaScript template literals",
    ),
    ("<%=a*b%>", "ERB, EJS"),
    ("#{a*b}", "Pug, Ruby interpolation, Thymeleaf"),
    ("@(a*b)", "Razor"),
    ("{a*b}", "Smarty"),
];

/// One canary: two numbers and their product.
#[derive(Debug, Clone, Copy)]
pub struct Canary {
    pub a: u32,
    pub b: u32,
}

impl Canary {
    pub fn random() -> Canary {
        Canary {
            a: fastrand::u32(10_000..100_000),
            b: fastrand::u32(10_000..100_000),
        }
    }

    pub fn product(self) -> String {
        (u64::from(self.a) * u64::from(self.b)).to_string()
    }

    fn write(self, syntax: &str) -> String {
        syntax.replace("a*b", &format!("{}*{}", self.a, self.b))
    }

    /// Every syntax at once; engines leave the others' text alone.
    fn polyglot(self) -> String {
        SYNTAXES[..4].iter().map(|(s, _)| self.write(s)).collect()
    }
}

/// The product came back and the ordinary answer did not hold it.
pub fn evaluated(ordinary: &str, answer: &str, canary: Canary) -> bool {
    let product = canary.product();
    answer.contains(&product) && !ordinary.contains(&product)
}

#[async_trait]
impl InputCheck for Template {
    const META: &'static CheckMeta = &META;
    async fn probe_input(&self, point: &Point<'_, '_>) -> Result<Option<FindingDraft>, Halt> {
        let profile = point.profile().await?;
        let ordinary = profile.base.body_text();
        let first = Canary::random();
        let polyglot = format!("{}{}", profile.base_value, first.polyglot());
        let Some(answer) = point.send(&Payload::text(polyglot.clone())).await? else {
            return Ok(None);
        };
        let hit = evaluated(ordinary, answer.body_text(), first);
        // An engine that rejects the others' syntax fails on the polyglot;
        // then each syntax gets its own request.
        let broke = answer.response.status >= 500 && profile.base.response.status < 500;
        if !hit && !broke {
            return Ok(None);
        }
        for (syntax, engines) in SYNTAXES {
            let canary = Canary::random();
            let payload = format!("{}{}", profile.base_value, canary.write(syntax));
            let Some(confirm) = point.send(&Payload::text(payload.clone())).await? else {
                continue;
            };
            if !evaluated(ordinary, confirm.body_text(), canary) {
                continue;
            }
            let product = canary.product();
            let label = point.input.label();
            let mut draft = point
                .draft(&confirm, Severity::Critical, Confidence::Confirmed)
                .title(format!("Server-side template injection in {label}"))
                .description(format!(
                    "The {label} is evaluated as a template: {} came back as {product}, a number the \
                     request never contained (the expression's syntax is that of {engines}). Template \
                     code runs with the application's privileges, usually up to running commands.",
                    shown(&payload),
                ))
                .evidence(format!("Ordinary value {}", shown(&profile.base_value)), &profile.base, None);
            if hit {
                // Two canaries evaluated, each fresh: the check's own repeat.
                draft = draft.repeated().evidence(
                    format!(
                        "Canary in several syntaxes {}: {} came back",
                        shown(&polyglot),
                        first.product()
                    ),
                    &answer,
                    focus(&answer, &first.product()),
                );
            }
            draft = draft.evidence(
                format!("Fresh canary {}: {product} came back", shown(&payload)),
                &confirm,
                focus(&confirm, &product),
            );
            return Ok(Some(draft));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::injection::testing::{self, Seen, Twins};
    use crate::checks::probe::fixtures::assert_contains;

    #[test]
    fn only_the_product_proves_evaluation() {
        let canary = Canary { a: 12345, b: 67890 };
        assert_eq!(canary.product(), "838102050");
        assert!(canary.polyglot().contains("{{12345*67890}}"));
        assert!(canary.polyglot().contains("${12345*67890}"));
        assert!(evaluated("Hello", "Hello 838102050", canary));
        // Reflection shows the expression, never its value.
        assert!(!evaluated(
            "Hello",
            &format!("Hello {}", canary.polyglot()),
            canary
        ));
        assert!(!evaluated("838102050", "838102050", canary));
    }

    /// Renders `{{x*y}}` like a template engine would (vulnerable) or
    /// escapes it (fixed).
    fn greeter(
        vulnerable: bool,
    ) -> impl Fn(&Seen) -> (u16, String) + Clone + Send + Sync + 'static {
        move |seen: &Seen| {
            let name = seen.arg("name").unwrap_or_default().to_string();
            if !vulnerable {
                return (
                    200,
                    serde_json::json!({"greeting": format!("Hello {name}")}).to_string(),
                );
            }
            match crate::lab::injection::render_products(&name) {
                Some(out) => (
                    200,
                    serde_json::json!({"greeting": format!("Hello {out}")}).to_string(),
                ),
                None => (
                    500,
                    r#"{"error": "jinja2.exceptions.TemplateSyntaxError"}"#.into(),
                ),
            }
        }
    }

    #[tokio::test]
    async fn an_evaluating_engine_is_found_and_a_reflecting_one_is_not() {
        let Twins { finding, sent } =
            testing::twins(&META, greeter, "GET /api/greeting?name=Ada").await;
        assert_contains(&finding.description, "Jinja2");
        assert_eq!(finding.evidence.len(), 3);
        let (flawed, fixed) = sent;
        assert!(flawed <= 4, "{flawed}");
        assert_eq!(fixed, 2, "the impossible value and one canary");
    }
}
