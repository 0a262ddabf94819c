//! Did the API's data change while Rampart scanned it?
//!
//! A passive scan sends only reads, yet a read can have a side effect
//! that no name gave away. The scan keeps a few endpoints' answers from
//! right after the baseline and asks for them again at the end: when the
//! data (volatile fields set aside) is not what it was, something Rampart
//! requested changed it, and the report says so, naming the endpoints
//! whose answers read like an action.

use std::sync::Arc;

use super::{Varies, Volatility};
use crate::discover::safety::reads_like_an_action;
use crate::discover::Endpoint;
use crate::engine::{Engine, Exchange};
use crate::facts::visit_leaves;
use crate::facts::volatility::replay;

/// How many endpoints are watched: a few requests at the end of a scan.
const WATCHED: usize = 5;

struct Watched {
    endpoint: Endpoint,
    /// The answer to compare with: the repeat right after the baseline.
    reference: Arc<Exchange>,
    varies: Varies,
    /// Where it stands among the candidates: the callers' own first, the
    /// richest first, then by label.
    rank: (bool, std::cmp::Reverse<usize>, String),
}

/// The endpoints watched for a change of data.
#[derive(Default)]
pub struct Watch {
    /// The best candidates so far, best first, one per endpoint.
    watched: Vec<Watched>,
}

fn leaves(exchange: &Exchange) -> usize {
    let mut count = 0;
    if let Some(json) = exchange.body_json() {
        visit_leaves(json, 12, &mut |_, _| {
            count += 1;
            count < 10_000
        });
    }
    count
}

impl Watch {
    /// Chooses the endpoints to watch among the baseline's repeated
    /// requests (`pairs`: first answer, repeat): JSON data, the callers'
    /// own first, the richest first.
    pub fn choose(
        pairs: &[(Arc<Exchange>, Arc<Exchange>)],
        endpoints: &[Endpoint],
        volatility: &Volatility,
    ) -> Watch {
        let mut watch = Watch::default();
        for (_, repeat) in pairs {
            watch.offer(repeat, endpoints, volatility);
        }
        watch
    }

    /// Considers one repeat as it comes; only the best few are kept, so the
    /// choice holds a handful of answers however many endpoints there are.
    pub fn offer(
        &mut self,
        repeat: &Arc<Exchange>,
        endpoints: &[Endpoint],
        volatility: &Volatility,
    ) {
        let Some(endpoint) = endpoints.iter().find(|e| {
            e.method == repeat.request.method
                && Some(e.path.as_str()) == repeat.endpoint_template.as_deref()
        }) else {
            return;
        };
        // Data, and not an answer that reports an action: asking such an
        // endpoint again would act again.
        let count = leaves(repeat);
        let data = (200..300).contains(&repeat.response.status)
            && count > 0
            && !reads_like_an_action(repeat.body_text());
        let varies = volatility.of(&endpoint.label());
        if !data || matches!(varies, Varies::Text) {
            return;
        }
        let label = endpoint.label();
        let rank = (
            repeat.request.identity.is_none(),
            std::cmp::Reverse(count),
            label.clone(),
        );
        if let Some(at) = self
            .watched
            .iter()
            .position(|w| w.endpoint.label() == label)
        {
            // Of one endpoint's answers, the first of the best rank stays.
            if self.watched[at].rank <= rank {
                return;
            }
            self.watched.remove(at);
        }
        let at = self.watched.partition_point(|w| w.rank <= rank);
        if at >= WATCHED {
            return;
        }
        self.watched.insert(
            at,
            Watched {
                endpoint: endpoint.clone(),
                reference: Arc::clone(repeat),
                varies: varies.clone(),
                rank,
            },
        );
        self.watched.truncate(WATCHED);
    }

    /// The watched endpoints' labels.
    pub fn labels(&self) -> Vec<String> {
        self.watched.iter().map(|w| w.endpoint.label()).collect()
    }

    /// The watched endpoints whose data changed since the baseline: each
    /// asked again as it was then.
    pub async fn changed(&self, engine: &Engine) -> Vec<String> {
        let mut changed = Vec::new();
        for watched in &self.watched {
            let Some(probe) = replay(engine, &watched.reference, Some(&watched.endpoint)) else {
                continue;
            };
            let Ok(now) = engine.send(probe).await else {
                continue;
            };
            if !watched.varies.same_data(&watched.reference, &now) {
                changed.push(watched.endpoint.label());
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::probe::fixtures::exchange;
    use crate::discover::EndpointSource;

    fn templated(url: &str, identity: Option<&str>, body: &str, template: &str) -> Arc<Exchange> {
        let plain = exchange(url, identity, 200, &[], body);
        let mut owned = Arc::into_inner(plain).expect("a fresh fixture");
        owned.endpoint_template = Some(template.into());
        Arc::new(owned)
    }

    #[test]
    fn the_watch_keeps_only_the_best_few_whatever_the_order() {
        let paths: Vec<String> = (0..12).map(|i| format!("/p{i}")).collect();
        let endpoints: Vec<Endpoint> = paths
            .iter()
            .map(|p| Endpoint::discovered(p, EndpointSource::Spec))
            .collect();
        // /pN answers N+1 fields: the richest are /p11, /p10, …
        let repeats: Vec<Arc<Exchange>> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let fields: Vec<String> = (0..=i).map(|f| format!("\"f{f}\":{f}")).collect();
                let body = format!("{{{}}}", fields.join(","));
                templated(&format!("http://h{p}?rampart_cb=1"), None, &body, p)
            })
            .collect();
        for order in [repeats.clone(), repeats.iter().rev().cloned().collect()] {
            let mut watch = Watch::default();
            for repeat in &order {
                watch.offer(repeat, &endpoints, &Volatility::default());
            }
            assert_eq!(
                watch.labels(),
                ["GET /p11", "GET /p10", "GET /p9", "GET /p8", "GET /p7"]
            );
        }
    }

    #[test]
    fn the_callers_own_richest_data_is_watched_first() {
        let endpoints: Vec<Endpoint> = ["/a", "/b", "/c"]
            .iter()
            .map(|p| Endpoint::discovered(p, EndpointSource::Spec))
            .collect();
        let pair = |path: &str, who: Option<&str>, body: &str| {
            let e = templated(&format!("http://h{path}?rampart_cb=1"), who, body, path);
            (Arc::clone(&e), e)
        };
        let pairs = vec![
            pair("/a", None, r#"{"x":1,"y":2,"z":3}"#),
            pair("/b", Some("alice"), r#"{"x":1}"#),
            pair("/c", Some("alice"), r#"{"x":1,"y":2}"#),
            pair("/c", Some("bob"), r#"{"x":1,"y":2,"w":4}"#),
        ];
        let watch = Watch::choose(&pairs, &endpoints, &Volatility::default());
        let order: Vec<String> = watch
            .watched
            .iter()
            .map(|w| w.endpoint.path.clone())
            .collect();
        assert_eq!(order, vec!["/c", "/b", "/a"]);
        assert_eq!(
            watch.watched[0].reference.request.identity.as_deref(),
            Some("bob")
        );
    }
}
