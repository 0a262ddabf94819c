//! Authorization checks against the REAL FastAPI + SQLAlchemy/PostgreSQL
//! kitchen `tests/targets/kitchen/app.py`: identities that log in through
//! an OAuth2 password-flow form (`POST /token`, FastAPI's
//! `OAuth2PasswordRequestForm`), a role enum `Customer | Employee | Chef`,
//! operations the spec reserves to `Security` scopes, orders addressed by
//! order number, FastAPI's `{"detail": …}` errors and 422s. One PostgreSQL
//! cluster serves both twins, a database each; the spec is the one FastAPI
//! publishes (discovered, not given). Every scan runs at the default
//! settings.

mod support;

use serde_json::Value;
use support::{targets_dir, Family, Postgres, ScanRun, Target};

const KITCHEN: Family = Family {
    app: "kitchen/app.py",
    dynamo: false,
    spec: false,
    checks: Some("authz.*"),
    identities: &[],
    args: &[],
};

const PASSWORDS: [(&str, &str); 3] = [
    ("KITCHEN_ANA_PASSWORD", "ana-pass-kitchen"),
    ("KITCHEN_BEN_PASSWORD", "ben-pass-kitchen"),
    ("KITCHEN_GORDON_PASSWORD", "gordon-pass-kitchen"),
];

fn scan(target: &Target, extra: &[&str]) -> ScanRun {
    let identities = targets_dir().join("kitchen/identities.toml");
    let identities = identities.display().to_string();
    let mut args = vec!["--identity-file", identities.as_str()];
    args.extend_from_slice(extra);
    target.scan_with_env(&args, &PASSWORDS)
}

/// The tokens the seed gives the identities (their logins get the same).
const TOKENS: [(&str, &str); 3] = [
    ("ana", "kt_ana_5e1c9a"),
    ("ben", "kt_ben_93f0d2"),
    ("gordon", "kt_gordon_7a44b1"),
];

/// The identities' profiles and credentials are as they were, and each
/// still works.
fn assert_identities_untouched(target: &Target, before: &Value, run: &ScanRun) {
    target.assert_seeded_users_unchanged(before, run);
    // Their tokens still work (a throttled login after --login-burst says
    // nothing about them, so ask with the tokens the seed gave them).
    for (user, token) in TOKENS {
        let me = target.request(
            "GET",
            "/users/me",
            &[&format!("Authorization: Bearer {token}")],
        );
        assert!(
            me.status == 200 && me.body.contains(&format!("\"username\":\"{user}\"")),
            "{user} no longer works: {} {}",
            me.status,
            me.body
        );
    }
}

fn vulnerable_twin(target: &Target) {
    let run = scan(target, &[]);
    let names = run.identities_in("authz.bola", "GET", "/orders/{order_number}");
    assert!(names.len() >= 2 && names[0] != names[1], "{names:?}");
    for path in ["/kitchen/queue", "/reports/sales"] {
        let names = run.identities_in("authz.function-level", "GET", path);
        assert!(
            names.contains(&"gordon".to_string()) && names.iter().any(|n| n == "ana" || n == "ben"),
            "{path}: {names:?}"
        );
    }
    // The fixes are written for FastAPI (dependencies, scopes, models).
    run.assert_fixes(|check, variant| !check.starts_with("authz.") || variant == "fastapi");
    // Reads only, but for the three logins through the token form.
    let counts = target.method_counts();
    assert_eq!(counts["POST"], 3, "{counts:?}");
    for method in ["PUT", "PATCH", "DELETE"] {
        assert_eq!(counts[method], 0, "{method} without --active: {counts:?}");
    }

    let before = target.state();
    let run = scan(target, &["--active"]);
    let mass = run
        .find("authz.mass-assignment", "PUT", "/users/me")
        .unwrap_or_else(|| panic!("no mass assignment:\n{}", run.summary()));
    assert!(
        mass.head.title.contains("role = \"Chef\""),
        "{}",
        mass.head.title
    );
    let signup = run
        .find("authz.mass-assignment", "POST", "/users")
        .unwrap_or_else(|| panic!("no sign-up mass assignment:\n{}", run.summary()));
    assert!(
        signup.head.title.contains("role = \"Chef\""),
        "{}",
        signup.head.title
    );
    let takeover = run
        .find("authz.account-writes", "PUT", "/users/{username}/password")
        .unwrap_or_else(|| panic!("no account write:\n{}", run.summary()));
    assert!(
        takeover.head.description.contains("rampartvictim"),
        "{}",
        takeover.head.description
    );
    // The token endpoint reads forms only: the enumeration was judged on
    // form logins, never on FastAPI's 422 for a JSON body.
    let enumeration = run
        .find("authz.user-enumeration", "POST", "/token")
        .unwrap_or_else(|| panic!("no enumeration:\n{}", run.summary()));
    for step in &enumeration.evidence {
        assert_eq!(step.response.status, 401, "{}", step.step);
    }
    // An order ana places is read, changed and cancelled by ben; every
    // one Rampart placed is gone again.
    for method in ["GET", "PATCH", "DELETE"] {
        let names = run.identities_in("authz.created-objects", method, "/orders/{order_number}");
        assert!(
            names.contains(&"ana".to_string()) && names.contains(&"ben".to_string()),
            "{method}: {names:?}"
        );
    }
    assert_eq!(
        target.state()["orders"],
        before["orders"],
        "orders left behind"
    );
    // An order placed with the response-only `priority` gets the enum's
    // most privileged value, read back through GET /orders/{order_number}.
    let created = run
        .find("authz.mass-assignment", "POST", "/orders")
        .unwrap_or_else(|| panic!("no mass assignment on create:\n{}", run.summary()));
    assert!(
        created.head.title.contains("priority = \"vip\""),
        "{}",
        created.head.title
    );
    // Administrative writes by a customer: a dish gordon (Chef) adds is
    // removed by a customer, and a throwaway account is made a Chef.
    let names = run.identities_in("authz.function-level", "DELETE", "/menu/{dish_id}");
    assert!(
        names.contains(&"gordon".to_string()) && names.iter().any(|n| n == "ana" || n == "ben"),
        "{names:?}"
    );
    let promoted = run
        .find("authz.function-level", "PUT", "/users/{username}/role")
        .unwrap_or_else(|| panic!("no role change:\n{}", run.summary()));
    assert!(
        promoted.head.description.contains("role = \"Chef\"")
            && promoted.head.description.contains("rampartpromoted"),
        "{}",
        promoted.head.description
    );
    assert_eq!(
        target.state()["dishes"],
        before["dishes"],
        "dishes left behind"
    );
    // Each create and sign-up once: the runner's confirmation sent none
    // of them again (a refused create changes nothing and is no entry).
    target.assert_posts_recorded_once(&run, &["/orders", "/users"]);
    assert_identities_untouched(target, &before, &run);
}

fn fixed_twin(target: &Target) {
    let before = target.state();
    let run = scan(target, &["--active", "--login-burst"]);
    assert!(
        run.findings().is_empty(),
        "fixed twin reported:\n{}",
        run.summary()
    );
    assert_eq!(
        target.state()["orders"],
        before["orders"],
        "orders left behind"
    );
    assert_eq!(
        target.state()["dishes"],
        before["dishes"],
        "dishes left behind"
    );
    assert_identities_untouched(target, &before, &run);
}

#[test]
fn fastapi_twins_on_one_postgres_cluster() {
    let postgres = Postgres::start();
    let vulnerable_db = postgres.create_database("kitchen_vulnerable");
    let fixed_db = postgres.create_database("kitchen_fixed");
    let (vulnerable, fixed) = std::thread::scope(|s| {
        let v =
            s.spawn(|| KITCHEN.start_with_env("vulnerable", &[("DATABASE_URL", &vulnerable_db)]));
        let f = s.spawn(|| KITCHEN.start_with_env("fixed", &[("DATABASE_URL", &fixed_db)]));
        (
            v.join().expect("vulnerable twin starts"),
            f.join().expect("fixed twin starts"),
        )
    });
    std::thread::scope(|s| {
        s.spawn(|| vulnerable_twin(&vulnerable));
        s.spawn(|| fixed_twin(&fixed));
    });
}
