//! Authorization checks against the REAL Flask + SQLAlchemy/SQLite library
//! `tests/targets/library/app.py`: books addressed by title and users by
//! username (no `*_id` anywhere), ownership visible only in each caller's
//! own "my books", every refusal answered as `200 {"status": "fail"}`, a
//! role enum `reader | author | librarian`, a librarians-only admin area,
//! a sign-up, a JSON login and a password change addressed by username.
//! Every scan runs at the default settings.

mod support;

use serde_json::Value;
use support::{Family, ScanRun, Target};

const ALICE: &str = "Authorization: Token tok_alice_lib_41d2";
const BOB: &str = "Authorization: Token tok_bob_lib_8c7e";
const CAROL: &str = "Authorization: Token tok_carol_lib_2f90";

const LIBRARY: Family = Family {
    app: "library/app.py",
    dynamo: false,
    spec: true,
    checks: Some("authz.*"),
    identities: &[("alice", ALICE), ("bob", BOB), ("carol", CAROL)],
    args: &[],
};

/// The identities' credentials and profiles are as they were, and each
/// still logs in with its token.
fn assert_identities_untouched(target: &Target, before: &Value, run: &ScanRun) {
    target.assert_seeded_users_unchanged(before, run);
    for header in [ALICE, BOB, CAROL] {
        let me = target.request("GET", "/api/me", &[header]);
        assert!(
            me.status == 200 && me.body.contains("\"success\""),
            "{header} no longer works: {}",
            me.body
        );
    }
}

#[test]
fn vulnerable_twin_read_only_scan_finds_titles_usernames_and_the_admin_area() {
    let target = LIBRARY.start("vulnerable");
    let run = target.scan(&[]);
    for (path, owner) in [
        ("/api/books/{title}", "alice"),
        ("/api/users/{username}", "alice"),
    ] {
        let names = run.identities_in("authz.bola", "GET", path);
        assert!(
            names.iter().any(|n| n == owner) && names.iter().any(|n| n != owner),
            "{path}: {names:?}"
        );
    }
    // The fixes are written for Flask.
    run.assert_fixes(|check, variant| !check.starts_with("authz.") || variant == "flask");
    // The librarian's view and the reader's: both named.
    let names = run.identities_in("authz.function-level", "GET", "/api/admin/users");
    assert!(
        names.contains(&"carol".to_string()) && names.iter().any(|n| n == "alice" || n == "bob"),
        "{names:?}"
    );
    let admin = run
        .find("authz.function-level", "GET", "/api/admin/users")
        .unwrap();
    assert_eq!(admin.category.as_str(), "function-authorization");
    // No librarian reading a reader's book is called a BOLA.
    let bola = run.find("authz.bola", "GET", "/api/books/{title}").unwrap();
    assert!(!bola.head.title.starts_with("carol"), "{}", bola.head.title);
    target.assert_only_reads();
}

#[test]
fn vulnerable_twin_active_scan_finds_the_real_role_value_and_enumeration_in_200_answers() {
    let target = LIBRARY.start("vulnerable");
    let before = target.state();
    let run = target.scan(&["--active"]);
    let mass = run
        .find("authz.mass-assignment", "PATCH", "/api/me")
        .unwrap_or_else(|| panic!("no mass assignment:\n{}", run.summary()));
    // The spec's most privileged role, not a made-up "admin".
    assert!(
        mass.head.title.contains("role = \"librarian\""),
        "{}",
        mass.head.title
    );
    let enumeration = run
        .find("authz.user-enumeration", "POST", "/api/login")
        .unwrap_or_else(|| panic!("no enumeration:\n{}", run.summary()));
    let statuses: Vec<u16> = enumeration
        .evidence
        .iter()
        .map(|e| e.response.status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200],
        "refusals answered as 200 are compared"
    );
    // A book alice creates is read, edited and withdrawn by bob; every
    // one Rampart created is gone again.
    for method in ["GET", "PATCH", "DELETE"] {
        let names = run.identities_in("authz.created-objects", method, "/api/books/{title}");
        assert!(
            names.contains(&"alice".to_string()) && names.contains(&"bob".to_string()),
            "{method}: {names:?}"
        );
    }
    assert_eq!(
        target.state()["books"],
        before["books"],
        "books left behind"
    );
    let books: Vec<_> = run
        .report
        .changes
        .iter()
        .filter(|c| c.request.contains("/api/books"))
        .collect();
    assert!(
        !books.is_empty() && books.iter().all(|c| c.restored),
        "{books:#?}"
    );
    // Sign-up takes the role; a password change addressed to another user
    // is proven on two throwaway accounts, never on the identities.
    let signup = run
        .find("authz.mass-assignment", "POST", "/api/signup")
        .unwrap_or_else(|| panic!("no sign-up mass assignment:\n{}", run.summary()));
    assert!(
        signup.head.title.contains("role = \"librarian\""),
        "{}",
        signup.head.title
    );
    let takeover = run
        .find(
            "authz.account-writes",
            "PUT",
            "/api/users/{username}/password",
        )
        .unwrap_or_else(|| panic!("no account write:\n{}", run.summary()));
    assert!(
        takeover.head.description.contains("rampartvictim")
            && takeover.head.description.contains("rampartattacker"),
        "{}",
        takeover.head.description
    );
    // A book created with the readOnly `approved` keeps it: mass
    // assignment on the create, read back through GET /api/books/{title}.
    let created = run
        .find("authz.mass-assignment", "POST", "/api/books")
        .unwrap_or_else(|| panic!("no mass assignment on create:\n{}", run.summary()));
    assert!(
        created.head.title.contains("approved"),
        "{}",
        created.head.title
    );
    assert!(
        created
            .evidence
            .iter()
            .any(|e| e.request.method == "GET" && e.request.url.contains("/api/books/")),
        "not read back: {:#?}",
        created.evidence
    );
    // Administrative writes by a reader: a shelf carol (librarian) adds is
    // removed by a reader, and a throwaway account is made a librarian.
    let names = run.identities_in("authz.function-level", "DELETE", "/api/shelves/{name}");
    assert!(
        names.contains(&"carol".to_string()) && names.iter().any(|n| n == "alice" || n == "bob"),
        "{names:?}"
    );
    let promoted = run
        .find(
            "authz.function-level",
            "PUT",
            "/api/admin/users/{username}/role",
        )
        .unwrap_or_else(|| panic!("no role change:\n{}", run.summary()));
    assert!(
        promoted.head.title.starts_with("alice") || promoted.head.title.starts_with("bob"),
        "{}",
        promoted.head.title
    );
    assert!(
        promoted.head.description.contains("role = \"librarian\"")
            && promoted.head.description.contains("rampartpromoted"),
        "{}",
        promoted.head.description
    );
    assert_eq!(
        target.state()["shelves"],
        before["shelves"],
        "shelves left behind"
    );
    target.assert_posts_recorded_once(&run, &["/api/books", "/api/signup"]);
    // The role was put back and nothing else of the identities changed.
    assert_identities_untouched(&target, &before, &run);
}

/// Each create and sign-up the scan sent is one entry of the report's
/// changes: the runner's confirmation did not send any a second time (a
/// create refused changes nothing and is not an entry).
#[test]
fn fixed_twin_yields_no_finding_and_leaves_the_identities_untouched() {
    let target = LIBRARY.start("fixed");
    let before = target.state();
    let run = target.scan(&["--active", "--login-burst"]);
    assert!(
        run.findings().is_empty(),
        "fixed twin reported:\n{}",
        run.summary()
    );
    assert_eq!(target.state()["shelves"], before["shelves"]);
    assert_eq!(target.state()["books"], before["books"]);
    assert_identities_untouched(&target, &before, &run);
}
