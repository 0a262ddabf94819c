//! Framework debug pages, stack traces and database errors.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{floor_boundary, headers_until_next};
use super::{re, DebugKind, Detection};

static PY_TRACEBACK_HEAD: LazyLock<Regex> =
    LazyLock::new(|| re(r"Traceback \(most recent call last\):"));
static PY_TRACEBACK_FILE: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"File (?:\\?"|&quot;|&#34;|&#x22;)[^"\n<>]+?(?:\\?"|&quot;|&#34;|&#x22;), line [0-9]+"#)
});
static JAVA_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?:(?-u:\s)|\\t|\\n)at [A-Za-z_$][A-Za-z0-9_$.<>/@-]*\(",
        r"(?:[A-Za-z0-9_$-]+\.(?:java|kt|scala|groovy|clj)(?::[0-9]+)?|Native Method|Unknown Source)\)",
    ))
});
static NODE_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?:(?-u:\s)|\\n)at (?:async )?(?:new )?",
        r"(?:[^\s()]+(?: \[as [^\]\s]+\])? \(",
        r#"(?:[^()\s"']+\.(?:js|mjs|cjs|ts|jsx|tsx)|node:[A-Za-z0-9_/.-]+):[0-9]+:[0-9]+\)"#,
        r#"|(?:[^()\s"']+\.(?:js|mjs|cjs|ts|jsx|tsx)|node:[A-Za-z0-9_/.-]+):[0-9]+:[0-9]+)"#,
    ))
});
static PHP_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"<b>(?:Fatal error|Parse error|Warning|Notice|Deprecated|Catchable fatal error)</b>:",
        r"|PHP (?:Fatal|Parse) error: ",
        r"|Stack trace:(?:\r?\n|(?:\\r)?\\n|<br ?/?>\r?\n?)#0 ",
    ))
});
static PHP_ON_LINE: LazyLock<Regex> = LazyLock::new(|| re(r" on line (?:<b>)?[0-9]+"));

/// The kinds one pattern tells, each with the alternatives any of which is
/// its evidence (the earliest match is reported).
const SIGNATURES: &[(DebugKind, &[&str])] = &[
    (
        DebugKind::WerkzeugDebugger,
        &[
            r"<title>[^<\n]*// Werkzeug Debugger</title>",
            r"__debugger__",
            r"The debugger caught an exception in your WSGI application",
        ],
    ),
    (
        DebugKind::DjangoDebugPage,
        &[r"seeing this error because you have (?:<code>)?DEBUG = True"],
    ),
    (
        DebugKind::BotocoreClientError,
        &[
            r"An error occurred \([A-Za-z][A-Za-z0-9.]{2,80}\) when calling the [A-Za-z][A-Za-z0-9]{2,80} operation",
            r"botocore\.exceptions\.[A-Z][A-Za-z]+",
        ],
    ),
    (
        DebugKind::RailsError,
        &[
            r"Rails\.root: ",
            r"ActionController::(?:RoutingError|UnknownFormat|ParameterMissing)",
            r"ActionView::Template::Error",
        ],
    ),
    (
        DebugKind::AspNetYsod,
        &[
            r"Server Error in (?:'|&#39;|&#x27;)[^'<\n&]*(?:'|&#39;|&#x27;) Application",
            r"An unhandled exception occurred while processing the request\.",
        ],
    ),
    (
        DebugKind::SqlError,
        &[
            r"You have an error in your SQL syntax",
            r"(?-u:\b)ORA-[0-9]{5}: ",
            r"(?-u:\b)PG::[A-Z][A-Za-z]+",
            r"psycopg2?\.(?:errors\.[A-Z][A-Za-z]+|OperationalError|ProgrammingError|IntegrityError|DataError|InternalError)",
            r"sqlite3\.(?:OperationalError|IntegrityError|ProgrammingError|DatabaseError)",
            r"SQLite3::SQLException",
            r"SQLSTATE\[[0-9A-Z]{5}\]",
            r"Unclosed quotation mark after the character string",
            r"quoted string not properly terminated",
            r"ERROR:  syntax error at or near",
            r"unterminated quoted string at or near",
            r"pymysql\.err\.[A-Z][A-Za-z]+",
            r"MySQLdb\.(?:_exceptions\.)?[A-Z][A-Za-z]+",
            r"sqlalchemy\.exc\.[A-Z][A-Za-z]+",
        ],
    ),
];
static SIGNATURE_PATTERNS: LazyLock<Vec<(DebugKind, Regex)>> = LazyLock::new(|| {
    SIGNATURES
        .iter()
        .map(|(kind, alternatives)| (*kind, re(&alternatives.join("|"))))
        .collect()
});

/// Framework debug pages, stack traces and database errors.
///
/// Reports at most one detection per kind, the earliest evidence. A Python
/// traceback inside a Werkzeug debugger or Django debug page is not reported
/// separately. Bodies whose content type is binary media, a font, an archive,
/// JavaScript or CSS (static assets, not error responses) are skipped. Stack
/// traces need two frames within 1 KiB of each other; a Python traceback
/// needs its `File "…", line N` line; a bare word like "traceback" or
/// "error" never matches.
pub fn find_debug_output(body: &str, content_type: Option<&str>) -> Vec<Detection<DebugKind>> {
    if content_type.is_some_and(is_static_or_binary) {
        return Vec::new();
    }
    let mut found: Vec<(DebugKind, usize, usize)> = Vec::new();
    let mut add = |kind: DebugKind, span: Option<(usize, usize)>| {
        if let Some((s, e)) = span {
            found.push((kind, s, e));
        }
    };

    for (kind, pattern) in SIGNATURE_PATTERNS.iter() {
        add(*kind, pattern.find(body).map(|m| (m.start(), m.end())));
    }
    add(DebugKind::PythonTraceback, python_traceback(body));
    add(DebugKind::JavaStackTrace, two_frames(body, &JAVA_FRAME));
    add(DebugKind::NodeStackTrace, two_frames(body, &NODE_FRAME));
    add(DebugKind::PhpError, php_error(body));

    let debug_page = found
        .iter()
        .any(|&(k, _, _)| matches!(k, DebugKind::WerkzeugDebugger | DebugKind::DjangoDebugPage));
    if debug_page {
        found.retain(|&(k, _, _)| k != DebugKind::PythonTraceback);
    }
    found.sort_by_key(|&(k, s, e)| (s, e, k));
    found
        .into_iter()
        .map(|(kind, start, end)| Detection {
            kind,
            matched: body[start..end].to_string(),
            start,
            end,
            field: None,
        })
        .collect()
}

fn is_static_or_binary(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ["image/", "audio/", "video/", "font/"]
        .iter()
        .any(|p| media.starts_with(p))
        || matches!(
            media.as_str(),
            "application/octet-stream"
                | "application/pdf"
                | "application/zip"
                | "application/gzip"
                | "application/x-gzip"
                | "application/wasm"
                | "application/font-woff"
                | "application/javascript"
                | "application/x-javascript"
                | "text/javascript"
                | "text/css"
        )
}

/// `Traceback (most recent call last):` with a `File "…", line N` frame
/// within 2 KiB; the span runs from the header to the end of that frame.
fn python_traceback(body: &str) -> Option<(usize, usize)> {
    // Frames belong to their header: the window stops at the next one.
    for (start, end, next) in headers_until_next(&PY_TRACEBACK_HEAD, body) {
        let window_end = floor_boundary(body, (end + 2048).min(next));
        if let Some(frame) = PY_TRACEBACK_FILE.find(&body[end..window_end]) {
            return Some((start, end + frame.end()));
        }
    }
    None
}

/// Two stack frames within 1 KiB; the span covers both (from the first `at`).
fn two_frames(body: &str, frame: &Regex) -> Option<(usize, usize)> {
    let mut prev: Option<(usize, usize)> = None;
    for m in frame.find_iter(body) {
        let start = m.start() + m.as_str().find("at ").unwrap_or(0);
        if let Some((ps, pe)) = prev {
            if start.saturating_sub(pe) <= 1024 {
                return Some((ps, m.end()));
            }
        }
        prev = Some((start, m.end()));
    }
    None
}

/// A PHP error: `<b>Fatal error</b>:`-style lines need ` on line N` within
/// 2 KiB; `PHP Fatal error:` and `Stack trace:\n#0 ` stand on their own.
fn php_error(body: &str) -> Option<(usize, usize)> {
    let heads: Vec<regex::Match> = PHP_HEAD.find_iter(body).collect();
    for (i, m) in heads.iter().enumerate() {
        if !m.as_str().starts_with("<b>") {
            return Some((m.start(), m.end()));
        }
        // Its location line comes before the next `<b>…</b>:` line.
        let next = heads[i + 1..]
            .iter()
            .find(|h| h.as_str().starts_with("<b>"))
            .map_or(body.len(), regex::Match::start);
        let window_end = floor_boundary(body, (m.end() + 2048).min(next));
        if let Some(line) = PHP_ON_LINE.find(&body[m.end()..window_end]) {
            return Some((m.start(), m.end() + line.end()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    // -- debug output ------------------------------------------------------------

    #[test]
    fn werkzeug_debugger() {
        let page = r#"<!doctype html>
<html lang=en><head><title>ZeroDivisionError: division by zero // Werkzeug Debugger</title>
<script src="?__debugger__=yes&amp;cmd=resource&amp;f=debugger.js"></script>
<script>var CONSOLE_MODE = false, EVALEX = true, SECRET = "abc";</script></head>
<body><h1>ZeroDivisionError</h1><div class="plain"><textarea>Traceback (most recent call last):
  File &#34;/app/app.py&#34;, line 12, in index
    return 1 / 0
ZeroDivisionError: division by zero</textarea></div>
<div class="footer">Brought to you by <strong>DON'T PANIC</strong>, your friendly Werkzeug powered traceback interpreter.</div>
<p>The debugger caught an exception in your WSGI application.</p></body></html>"#;
        let found = debug(page);
        assert_eq!(kinds(&found), [DebugKind::WerkzeugDebugger]);
        assert!(found[0].matched.starts_with("<title>ZeroDivisionError"));
        assert!(find_debug_output(
            "<p>The debugger caught an exception in your WSGI application</p>",
            Some("text/html")
        )
        .iter()
        .any(|d| d.kind == DebugKind::WerkzeugDebugger));
    }

    #[test]
    fn words_like_traceback_or_error_are_not_debug_output() {
        for body in [
            r#"{"error": "traceback disabled", "traceback": null, "message": "An error occurred"}"#,
            r#"{"detail": "Traceback (most recent call last): hidden in production"}"#,
            r#"{"error": {"code": "ValidationError", "message": "field 'email' is required"}}"#,
            "Error: something failed at step 3",
            r#"{"hint": "look at com.example.Foo(Foo.java:12) in the docs"}"#,
            r#"{"sql": "SELECT * FROM users", "db": "postgres", "code": "ORA-12345"}"#,
            "<b>Warning</b>: this action cannot be undone",
            "Server Error. Please try again later.",
            "We're seeing this error because you have a bad request",
        ] {
            assert!(debug(body).is_empty(), "{body}: {:?}", debug(body));
        }
    }

    /// Each kind that its own words tell, in the bodies that show it.
    #[test]
    fn each_kind_is_told_by_its_own_words() {
        let php = "<br />\n<b>Fatal error</b>:  Uncaught Exception: boom in /var/www/html/index.php:3\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/index.php</b> on line <b>3</b><br />";
        let cases: [(DebugKind, &[&str]); 6] = [
            (
                DebugKind::BotocoreClientError,
                &[
                    r#"{"message": "An error occurred (ValidationException) when calling the Query operation: One or more parameter values were invalid"}"#,
                    "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
                    "An error occurred (ResourceNotFoundException) when calling the GetItem operation: Requested resource not found",
                ],
            ),
            (
                DebugKind::DjangoDebugPage,
                &[
                    "<p>You&#x27;re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p>",
                    "Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in f\n\nYou're seeing this error because you have DEBUG = True in your\nDjango settings file.",
                ],
            ),
            (
                DebugKind::RailsError,
                &[
                    "<h1>Routing Error</h1><p>No route matches [GET] \"/x\"</p><p>Rails.root: /app</p>",
                    "ActionController::RoutingError (No route matches [GET] \"/x\")",
                ],
            ),
            (
                DebugKind::AspNetYsod,
                &[
                    "<h1>Server Error in '/' Application.<hr width=100% size=1 color=silver></h1>",
                    "<span><H1>Server Error in &#39;/api&#39; Application.</H1></span>",
                    "<h1>An unhandled exception occurred while processing the request.</h1>",
                ],
            ),
            (
                DebugKind::PhpError,
                &[
                    php,
                    "<b>Warning</b>:  Undefined variable $x in <b>/var/www/a.php</b> on line <b>7</b>",
                    r#"{"error": "PDOException\nStack trace:\n#0 /var/www/db.php(12): PDO->query()"}"#,
                ],
            ),
            (
                DebugKind::SqlError,
                &[
                    "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version",
                    "ORA-00933: SQL command not properly ended",
                    "PG::SyntaxError: ERROR:  syntax error at or near \"'\"",
                    "psycopg2.errors.UndefinedTable: relation \"users\" does not exist",
                    "sqlite3.OperationalError: near \"'\": syntax error",
                    "SQLSTATE[42000]: Syntax error or access violation",
                    "Unclosed quotation mark after the character string ''.",
                    "sqlalchemy.exc.ProgrammingError: (psycopg2.ProgrammingError)",
                ],
            ),
        ];
        for (kind, bodies) in cases {
            for body in bodies {
                assert_eq!(kinds(&debug(body)), [kind], "{body}");
            }
        }
        // The evidence is the words themselves.
        let botocore = debug(cases[0].1[0]);
        assert!(botocore[0].matched.ends_with("Query operation"));
        assert!(debug(php)[0].matched.starts_with("<b>Fatal error</b>:"));
    }

    /// Each trace is found in plain text and as a JSON string value (with
    /// its newlines escaped), from the text that starts it to the frame
    /// that ends it.
    #[test]
    fn stack_traces_plain_and_in_json() {
        let python = "Internal error\nTraceback (most recent call last):\n  File \"/app/views.py\", line 42, in get\n    raise KeyError('x')\nKeyError: 'x'\n";
        let java = "java.lang.NullPointerException: boom\n\tat com.example.api.UserService.find(UserService.java:42)\n\tat com.example.api.UserController.get(UserController.java:17)\n\tat java.base/java.lang.Thread.run(Thread.java:833)\n";
        let node = "TypeError: Cannot read properties of undefined (reading 'id')\n    at getUser (/app/src/users.js:12:19)\n    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)";
        let cases = [
            (python, DebugKind::PythonTraceback, "Traceback", "line 42"),
            (
                java,
                DebugKind::JavaStackTrace,
                "at com.example.api.UserService.find",
                "(UserController.java:17)",
            ),
            (node, DebugKind::NodeStackTrace, "at getUser", ""),
        ];
        for (trace, kind, starts, ends) in cases {
            let found = debug(trace);
            assert_eq!(kinds(&found), [kind], "{trace}");
            assert!(found[0].matched.starts_with(starts), "{}", found[0].matched);
            assert!(found[0].matched.ends_with(ends), "{}", found[0].matched);
            let body = serde_json::to_string(&json!({"error": "boom", "trace": trace})).unwrap();
            assert_eq!(kinds(&debug(&body)), [kind], "{body}");
            assert_eq!(
                kinds(&debug(&body.replace('/', "\\/"))),
                [kind],
                "escaped slashes"
            );
        }
    }

    #[test]
    fn stack_trace_variants_and_single_frames() {
        let spaced = "Exception\n    at com.example.A.b(A.java:1)\n    at sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n";
        assert_eq!(kinds(&debug(spaced)), [DebugKind::JavaStackTrace]);
        let anonymous =
            "Error: x\n    at /app/index.js:3:9\n    at Object.<anonymous> (/app/index.js:10:1)";
        assert_eq!(kinds(&debug(anonymous)), [DebugKind::NodeStackTrace]);
        // One frame is not a stack trace.
        assert!(debug("\tat com.example.A.b(A.java:1)\n").is_empty());
        assert!(debug("Error: x\n    at getUser (/app/src/users.js:12:19)").is_empty());
    }

    #[test]
    fn one_detection_per_kind_and_sorted() {
        let body = "ORA-00933: x\nORA-00942: y\nYou have an error in your SQL syntax\nbotocore.exceptions.ClientError";
        let found = debug(body);
        assert_eq!(
            kinds(&found),
            [DebugKind::SqlError, DebugKind::BotocoreClientError]
        );
        assert_eq!(found[0].matched, "ORA-00933: ");
    }

    #[test]
    fn static_and_binary_content_types_are_skipped() {
        let body = "Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in f";
        assert!(!find_debug_output(body, Some("text/plain; charset=utf-8")).is_empty());
        assert!(!find_debug_output(body, Some("application/json")).is_empty());
        for ct in [
            "image/png",
            "application/octet-stream",
            "application/javascript; charset=utf-8",
            "text/css",
            "font/woff2",
        ] {
            assert!(find_debug_output(body, Some(ct)).is_empty(), "{ct}");
        }
    }
}
