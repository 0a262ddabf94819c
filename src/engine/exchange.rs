//! A captured request/response pair: the raw material of every finding.
//!
//! Memory: the body is held once (`Bytes`); its text is a view of those
//! bytes when they are UTF-8 (a copy only for the rare body that is not),
//! and its parsed JSON is built on first use. What outlives the moment of
//! capture is smaller: baselines past their memory budget are kept as
//! [`Exchange::compact`] summaries, and finding evidence as the
//! [`Exchange::window`] its excerpt needs.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: Cow<'static, str>,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    /// The identity the request was sent as; `None` is anonymous.
    pub identity: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RecordedResponse {
    pub status: u16,
    pub http_version: &'static str,
    pub headers: HeaderList,
    pub body: Bytes,
    /// True when the body was cut at the engine's body cap.
    pub truncated: bool,
}

/// One request and what came back, with enough context for checks to judge it.
#[derive(Debug)]
pub struct Exchange {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
    pub elapsed: Duration,
    /// The endpoint template this exchange exercised, when it came from one.
    pub endpoint_template: Option<String>,
    json: OnceLock<Option<serde_json::Value>>,
    /// `None` once the body is known to be UTF-8 (the text is then a view
    /// of the body), else the lossy copy.
    text: OnceLock<Option<Box<str>>>,
    /// What a compact or windowed copy no longer holds.
    cut: Option<Cut>,
    /// For a windowed copy: what to mask in its body, found on the whole
    /// body (`(start, end, masked form)`, positions in the window).
    masks: Vec<(usize, usize, String)>,
}

/// What part of the captured body a reduced copy of an exchange keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// No body at all: a summary of a baseline kept past its memory budget
    /// (status and headers only). `len` and `digest` describe the body.
    Compact { len: usize, digest: u64 },
    /// The body holds the original body text's `start..end`, out of
    /// `full_len` bytes of text.
    Window {
        start: usize,
        end: usize,
        full_len: usize,
    },
}

impl Exchange {
    pub fn new(
        request: RecordedRequest,
        response: RecordedResponse,
        elapsed: Duration,
        endpoint_template: Option<String>,
    ) -> Self {
        Exchange {
            request,
            response,
            elapsed,
            endpoint_template,
            json: OnceLock::new(),
            text: OnceLock::new(),
            cut: None,
            masks: Vec::new(),
        }
    }

    /// The same request and response head without the body: what a
    /// baseline costs once it is past the memory budget. Its body can be had
    /// again only by sending the request again.
    pub fn compact(&self) -> Exchange {
        let cut = Cut::Compact {
            len: self.response.body.len(),
            digest: digest(&self.response.body),
        };
        self.reduced(Bytes::new(), cut, Vec::new())
    }

    /// The same exchange without what reading it built (its parsed JSON,
    /// a lossy text copy): what an answer kept for later should hold. A
    /// parsed tree takes several times its body and is quickly built again
    /// by the check that needs it, which lets it go with the copy it read.
    pub fn unparsed(&self) -> Exchange {
        Exchange {
            cut: self.cut.clone(),
            masks: self.masks.clone(),
            ..Exchange::new(
                self.request.clone(),
                self.response.clone(),
                self.elapsed,
                self.endpoint_template.clone(),
            )
        }
    }

    /// Whether reading this exchange built its parsed JSON (for tests of
    /// what is kept).
    pub fn is_parsed(&self) -> bool {
        self.json.get().is_some()
    }

    /// This exchange with `body` in place of its response body, saying
    /// what was `cut`.
    fn reduced(&self, body: Bytes, cut: Cut, masks: Vec<(usize, usize, String)>) -> Exchange {
        let mut response = self.response.clone();
        response.body = body;
        Exchange {
            cut: Some(cut),
            masks,
            ..Exchange::new(
                self.request.clone(),
                response,
                self.elapsed,
                self.endpoint_template.clone(),
            )
        }
    }

    /// The same request and response head with only the body text's
    /// `range` — what a finding's evidence shows, so a finding does not
    /// hold a whole body until the report is written — and `masks`, what to
    /// mask in it (positions in the body text, found on the whole body).
    pub fn window(
        &self,
        range: std::ops::Range<usize>,
        masks: Vec<(usize, usize, String)>,
    ) -> Exchange {
        let text = self.body_text();
        let body = Bytes::copy_from_slice(text.get(range.clone()).unwrap_or("").as_bytes());
        let masks = masks
            .into_iter()
            .map(|(start, end, masked)| {
                (
                    start.saturating_sub(range.start),
                    end.saturating_sub(range.start),
                    masked,
                )
            })
            .collect();
        let cut = Cut::Window {
            start: range.start,
            end: range.end,
            full_len: text.len(),
        };
        self.reduced(body, cut, masks)
    }

    /// What this copy no longer holds of the captured body, if anything.
    pub fn cut(&self) -> Option<&Cut> {
        self.cut.as_ref()
    }

    /// What to mask in a windowed copy's body (none in a whole exchange).
    pub fn masks(&self) -> &[(usize, usize, String)] {
        &self.masks
    }

    pub fn is_compact(&self) -> bool {
        matches!(self.cut, Some(Cut::Compact { .. }))
    }

    /// Whether two answers carry the same body bytes; a compact copy
    /// compares by the length and digest it kept of its body. A windowed
    /// copy only equals what has the same window.
    pub fn same_body(&self, other: &Exchange) -> bool {
        let summary = |e: &Exchange| match e.cut {
            Some(Cut::Compact { len, digest }) => (len, digest),
            _ => (e.response.body.len(), digest(&e.response.body)),
        };
        if !self.is_compact() && !other.is_compact() {
            return self.response.body == other.response.body;
        }
        summary(self) == summary(other)
    }

    /// The path to report: the template when known, else the concrete path.
    pub fn endpoint_path(&self) -> &str {
        match &self.endpoint_template {
            Some(template) => template,
            None => url_path(&self.request.url),
        }
    }

    /// The response body as text (lossy: servers send what they like).
    /// A UTF-8 body is viewed in place, not copied.
    pub fn body_text(&self) -> &str {
        let body = &self.response.body;
        let lossy = self.text.get_or_init(|| match std::str::from_utf8(body) {
            Ok(_) => None,
            Err(_) => Some(String::from_utf8_lossy(body).into()),
        });
        match lossy {
            Some(text) => text,
            // Known to be UTF-8 (`Bytes` cannot change); checking again is
            // a fast scan of bytes in cache, a copy would be a second body.
            None => std::str::from_utf8(body).unwrap_or_default(),
        }
    }

    /// The response body parsed as JSON, when it is JSON.
    pub fn body_json(&self) -> Option<&serde_json::Value> {
        self.json
            .get_or_init(|| {
                if self.response.truncated {
                    return None;
                }
                serde_json::from_slice(&self.response.body).ok()
            })
            .as_ref()
    }

    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response.headers.get(name)
    }

    /// The cookies the answer sets, as `(name, value)`, attributes left out.
    pub fn set_cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.response.headers.all("set-cookie").filter_map(|value| {
            let pair = value.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=')?;
            Some((name.trim(), value.trim()))
        })
    }

    pub fn request_header(&self, name: &str) -> Option<&str> {
        header_value(&self.request.headers, name)
    }

    pub fn content_type(&self) -> Option<&str> {
        self.response_header("content-type")
    }
}

/// An answer's headers in the order the server sent them, names and values
/// held in one buffer: a vector of owned pairs cost two allocations per
/// header on every request, most of the engine's own cost per request.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    /// Every name and value, back to back.
    text: String,
    /// Where each header's name ends and then its value, in `text`.
    ends: Vec<(usize, usize)>,
}

impl HeaderList {
    /// Room for `headers` headers of `bytes` bytes in all (names and values).
    pub fn with_capacity(headers: usize, bytes: usize) -> Self {
        HeaderList {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(headers),
        }
    }

    pub fn push(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    /// The value of the first header named `name` (in any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }

    /// The values of every header named `name` (in any case), in order:
    /// `Set-Cookie`, say, comes once per cookie.
    pub fn all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// `(name, value)` in the order they came.
    pub fn iter(&self) -> HeaderIter<'_> {
        HeaderIter {
            list: self,
            front: 0,
            back: self.ends.len(),
        }
    }

    fn entry(&self, index: usize) -> (&str, &str) {
        let start = match index {
            0 => 0,
            _ => self.ends[index - 1].1,
        };
        let (name_end, value_end) = self.ends[index];
        (&self.text[start..name_end], &self.text[name_end..value_end])
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of every name and value together.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl std::fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a HeaderList {
    type Item = (&'a str, &'a str);
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The headers of a [`HeaderList`], in order.
pub struct HeaderIter<'a> {
    list: &'a HeaderList,
    front: usize,
    back: usize,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        Some(self.list.entry(self.front - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        (left, Some(left))
    }
}

impl DoubleEndedIterator for HeaderIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(self.list.entry(self.back))
    }
}

impl ExactSizeIterator for HeaderIter<'_> {}

impl<N: AsRef<str>, V: AsRef<str>> Extend<(N, V)> for HeaderList {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, headers: I) {
        for (name, value) in headers {
            self.push(name.as_ref(), value.as_ref());
        }
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(headers: I) -> Self {
        let mut list = HeaderList::default();
        list.extend(headers);
        list
    }
}

/// A cheap fingerprint of a body, to tell two bodies apart without keeping them.
pub fn digest(body: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The path component of an absolute URL string, without the query.
pub fn url_path(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| &url[i + 3..]).unwrap_or(url);
    let path_start = after_scheme.find('/').unwrap_or(after_scheme.len());
    let path = &after_scheme[path_start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    if end == 0 {
        "/"
    } else {
        &path[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_list_keeps_every_header_in_order_and_finds_them_in_any_case() {
        let mut list: HeaderList = [("Set-Cookie", "a=1"), ("content-type", "text/plain")]
            .into_iter()
            .collect();
        list.push("set-cookie", "");
        list.push("", "odd");
        let all: Vec<_> = list.iter().collect();
        assert_eq!(
            all,
            [
                ("Set-Cookie", "a=1"),
                ("content-type", "text/plain"),
                ("set-cookie", ""),
                ("", "odd"),
            ]
        );
        let backwards: Vec<_> = list.iter().rev().map(|(name, _)| name).collect();
        assert_eq!(backwards, ["", "set-cookie", "content-type", "Set-Cookie"]);
        assert_eq!(list.get("SET-COOKIE"), Some("a=1"));
        assert_eq!(list.get("Content-Type"), Some("text/plain"));
        assert_eq!(list.get("location"), None);
        assert_eq!(list.all("set-cookie").collect::<Vec<_>>(), ["a=1", ""]);
        assert_eq!((list.len(), list.iter().len()), (4, 4));
        assert_eq!(
            list.text_len(),
            "Set-Cookiea=1content-typetext/plainset-cookieodd".len()
        );
    }

    #[test]
    fn url_path_strips_origin_and_query() {
        assert_eq!(url_path("http://h:1/a/b?c=d"), "/a/b");
        assert_eq!(url_path("http://h:1"), "/");
        assert_eq!(url_path("http://h:1?x"), "/");
    }
}
