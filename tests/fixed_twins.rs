//! Every check on the fixed twins, as a new user would scan them: not a
//! family's own checks on its own target, but all of Rampart at once, at
//! the default settings and with no rate limit. A fixed twin deserves
//! nothing of medium or above (the plain-HTTP note on loopback is info).
//! The trust target's fixed twin has its own such test in trust_real.rs.

mod support;

use rampart::finding::Severity;
use support::{targets_dir, Family, PostgresCluster, ScanRun};

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

const INJECTION: Family = Family {
    app: "injection/app.py",
    identities: &[("alice", "X-API-Key: ak_alice_inj_4f1c")],
    ..Family::DEFAULT
};

/// Scans `family`'s fixed twin with every check at both speeds.
fn nothing_of_medium_or_above(family: &Family, env: &[(&str, &str)]) {
    let target = family.start_with_env("fixed", env);
    silent_at_both_speeds(family.app, |speed| target.scan(speed));
}

/// `scan` at the default settings and unpaced finds nothing of medium or
/// above.
fn silent_at_both_speeds(app: &str, scan: impl Fn(&[&str]) -> ScanRun) {
    for speed in [&[][..], &["--rate", "0"]] {
        let run = scan(speed);
        let unwanted = run.unwanted(|f| f.severity >= Severity::Medium);
        assert!(
            unwanted.is_empty(),
            "{app} fixed twin {speed:?} reported:\n{}",
            unwanted.join("\n")
        );
    }
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
fn the_library_target() {
    nothing_of_medium_or_above(&LIBRARY, &[]);
}

#[test]
fn the_kitchen_target() {
    let postgres = PostgresCluster::start();
    let database = postgres.create_database("kitchen_every_check");
    let target = KITCHEN.start_with_env("fixed", &[("DATABASE_URL", &database)]);
    let identities = targets_dir().join("kitchen/identities.toml");
    let identities = identities.display().to_string();
    let passwords = [
        ("KITCHEN_ANA_PASSWORD", "ana-pass-kitchen"),
        ("KITCHEN_BEN_PASSWORD", "ben-pass-kitchen"),
        ("KITCHEN_GORDON_PASSWORD", "gordon-pass-kitchen"),
    ];
    silent_at_both_speeds(KITCHEN.app, |speed| {
        let mut args = vec!["--identity-file", identities.as_str()];
        args.extend_from_slice(speed);
        target.scan_with_env(&args, &passwords)
    });
}

#[test]
fn the_injection_target() {
    nothing_of_medium_or_above(&INJECTION, &[]);
}
