//! Every check on the fixed twins, as a new user would scan them: not a
//! family's own checks on its own target, but all of Rampart at once, at
//! the default settings and with no rate limit. A fixed twin deserves
//! nothing of medium or above (the plain-HTTP note on loopback is info).
//! The trust target's fixed twin has its own such test in trust_real.rs.

mod support;

use std::thread;

use rampart::finding::Severity;
use support::{free_port, targets_dir, Family, MariaDb, Postgres, ScanRun, TestPki};

const AUTHZ: Family = Family {
    app: "authz/app.py",
    identities: &[
        ("alice", "X-API-Key: ak_alice_authz_51c0"),
        ("bob", "X-API-Key: ak_bob_authz_9e7d"),
    ],
    ..Family::DEFAULT
};

const EXPOSURE: Family = Family {
    app: "exposure/app.py",
    ..Family::DEFAULT
};

const SIGNING: Family = Family {
    app: "signing/app.py",
    identities: &[
        ("alice", "X-API-Key: ak_alice_sign_7a1e"),
        ("bob", "X-API-Key: ak_bob_sign_c3d9"),
    ],
    ..Family::DEFAULT
};

const TOKEN: Family = Family {
    app: "token/app.py",
    dynamo: false,
    ..Family::DEFAULT
};

const TOKEN_FASTAPI: Family = Family {
    app: "token/fastapi_app.py",
    ..TOKEN
};

const INJECTION_SQL: Family = Family {
    app: "injection/sql_app.py",
    dynamo: false,
    ..Family::DEFAULT
};

const REACH: Family = Family {
    app: "reach/app.py",
    dynamo: false,
    identities: &[
        ("alice", "X-API-Key: ak_alice_reach_41d2"),
        ("bob", "X-API-Key: ak_bob_reach_8c3e"),
    ],
    ..Family::DEFAULT
};

const REACH_FASTAPI: Family = Family {
    app: "reach/fastapi_app.py",
    identities: &[
        ("alice", "X-API-Key: ak_alice_reachfa_5e1c"),
        ("bob", "X-API-Key: ak_bob_reachfa_0b7d"),
    ],
    ..REACH
};

const TRANSPORT: Family = Family {
    app: "transport/app.py",
    dynamo: false,
    spec: false,
    ..Family::DEFAULT
};

const LIBRARY: Family = Family {
    app: "library/app.py",
    dynamo: false,
    identities: &[
        ("alice", "Authorization: Token tok_alice_lib_41d2"),
        ("bob", "Authorization: Token tok_bob_lib_8c7e"),
        ("carol", "Authorization: Token tok_carol_lib_2f90"),
    ],
    ..Family::DEFAULT
};

/// The kitchen's identities log in through its OAuth2 form (identity file);
/// its spec is the one FastAPI publishes.
const KITCHEN: Family = Family {
    app: "kitchen/app.py",
    dynamo: false,
    spec: false,
    ..Family::DEFAULT
};

/// One identity whose role nothing tells: no claim that it is the less
/// privileged one.
const INJECTION: Family = Family {
    app: "injection/app.py",
    identities: &[("alice", "X-API-Key: ak_alice_inj_4f1c")],
    ..Family::DEFAULT
};

/// The two speeds every fixed twin is scanned at: the default settings and
/// no rate limit.
const SPEEDS: [&[&str]; 2] = [&[], &["--rate", "0"]];

/// What `run` of `twin` reported at medium or above, one line each,
/// headed by the twin and the speed.
fn medium_or_above(run: &ScanRun, twin: &str, speed: &[&str]) -> Option<String> {
    let unwanted = run.unwanted(|f| f.head.severity >= Severity::Medium);
    (!unwanted.is_empty()).then(|| format!("{twin} {speed:?}:\n{}", unwanted.join("\n")))
}

/// Scans `family`'s fixed twin with every check at both speeds.
fn nothing_of_medium_or_above(family: &Family, env: &[(&str, &str)]) {
    let target = family.start_with_env("fixed", env);
    let reported: Vec<String> = SPEEDS
        .iter()
        .filter_map(|speed| medium_or_above(&target.scan(speed), family.app, speed))
        .collect();
    assert!(reported.is_empty(), "{}", reported.join("\n"));
}

/// The token target's fixed twin of `variant`, scanned with every check as
/// alice and bob at both speeds; what it reported at medium or above.
fn token_variant(family: &Family, variant: &str) -> Vec<String> {
    let target = family.start_with_env("fixed", &[("VARIANT", variant)]);
    let (alice, bob) = (target.credential("alice", ""), target.credential("bob", ""));
    let users = ["--identity", "alice", &alice, "--identity", "bob", &bob];
    SPEEDS
        .iter()
        .filter_map(|speed| {
            let args: Vec<&str> = users.iter().chain(speed.iter()).copied().collect();
            let twin = format!("{} {variant}", family.app);
            medium_or_above(&target.scan(&args), &twin, speed)
        })
        .collect()
}

#[test]
fn the_authorization_target() {
    nothing_of_medium_or_above(&AUTHZ, &[]);
}

#[test]
fn the_exposure_target() {
    nothing_of_medium_or_above(&EXPOSURE, &[("TABLE_PREFIX", "exposure-fixed")]);
}

#[test]
fn the_signing_target() {
    nothing_of_medium_or_above(&SIGNING, &[]);
}

#[test]
fn the_token_target_in_every_variant() {
    let variants = [
        (&TOKEN, "jwt-weak"),
        (&TOKEN, "jwt-numeric"),
        (&TOKEN, "jwt-alg"),
        (&TOKEN, "jwt-unverified"),
        (&TOKEN, "jwt-kid"),
        (&TOKEN, "session"),
        (&TOKEN, "links"),
        (&TOKEN_FASTAPI, "rs256"),
    ];
    let reported: Vec<String> = thread::scope(|scope| {
        let scans: Vec<_> = variants
            .iter()
            .map(|(family, variant)| scope.spawn(|| token_variant(family, variant)))
            .collect();
        scans
            .into_iter()
            .flat_map(|scan| scan.join().expect("a token variant's scans finish"))
            .collect()
    });
    assert!(reported.is_empty(), "{}", reported.join("\n"));
}

#[test]
fn the_sql_injection_target_on_postgresql_and_mariadb() {
    let (postgres, mariadb) = thread::scope(|scope| {
        let postgres = scope.spawn(Postgres::start);
        (
            postgres.join().expect("PostgreSQL starts"),
            MariaDb::start(),
        )
    });
    let servers = [("postgresql", postgres.port()), ("mariadb", mariadb.port())];
    thread::scope(|scope| {
        for (db, port) in servers {
            scope.spawn(move || {
                let port = port.to_string();
                let name = format!("injection_fixed_twins_{db}");
                nothing_of_medium_or_above(
                    &INJECTION_SQL,
                    &[("DB", db), ("DB_PORT", &port), ("DB_NAME", &name)],
                );
            });
        }
    });
}

#[test]
fn the_reach_targets_in_flask_and_fastapi() {
    thread::scope(|scope| {
        scope.spawn(|| nothing_of_medium_or_above(&REACH_FASTAPI, &[]));
        nothing_of_medium_or_above(&REACH, &[]);
    });
}

#[test]
fn the_transport_target_over_tls() {
    let pki = TestPki::generate();
    let target = TRANSPORT.start_tls("fixed", &pki, &[]);
    // The plain-HTTP twin is looked for on a closed port.
    let closed = free_port().to_string();
    let reported: Vec<String> = SPEEDS
        .iter()
        .filter_map(|speed| {
            let mut args = vec!["--insecure", "--http-port", &closed];
            args.extend(speed.iter());
            let run = TRANSPORT.scan(&format!("{}/", target.base_url()), &args);
            medium_or_above(&run, TRANSPORT.app, speed)
        })
        .collect();
    assert!(reported.is_empty(), "{}", reported.join("\n"));
}

#[test]
fn the_library_target() {
    nothing_of_medium_or_above(&LIBRARY, &[]);
}

#[test]
fn the_kitchen_target() {
    let postgres = Postgres::start();
    let database = postgres.create_database("kitchen_every_check");
    let target = KITCHEN.start_with_env("fixed", &[("DATABASE_URL", &database)]);
    let identities = targets_dir().join("kitchen/identities.toml");
    let identities = identities.display().to_string();
    let passwords = [
        ("KITCHEN_ANA_PASSWORD", "ana-pass-kitchen"),
        ("KITCHEN_BEN_PASSWORD", "ben-pass-kitchen"),
        ("KITCHEN_GORDON_PASSWORD", "gordon-pass-kitchen"),
    ];
    let reported: Vec<String> = SPEEDS
        .iter()
        .filter_map(|speed| {
            let mut args = vec!["--identity-file", identities.as_str()];
            args.extend_from_slice(speed);
            medium_or_above(&target.scan_with_env(&args, &passwords), KITCHEN.app, speed)
        })
        .collect();
    assert!(reported.is_empty(), "{}", reported.join("\n"));
}

#[test]
fn the_injection_target() {
    nothing_of_medium_or_above(&INJECTION, &[]);
}
