//! Every check on the fixed twins, as a new user would scan them: not a
//! family's own checks on its own target, but all of Rampart at once, at
//! the default settings and with no rate limit. A fixed twin deserves
//! nothing of medium or above (the plain-HTTP note on loopback is info).
//! The trust target's fixed twin has its own such test in trust_real.rs.

mod support;

use rampart::finding::Severity;
use support::Family;

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

/// Scans `family`'s fixed twin with every check at both speeds.
fn nothing_of_medium_or_above(family: &Family, env: &[(&str, &str)]) {
    let target = family.start_with_env("fixed", env);
    for speed in [&[][..], &["--rate", "0"]] {
        let run = target.scan(speed);
        let unwanted = run.unwanted(|f| f.severity >= Severity::Medium);
        assert!(
            unwanted.is_empty(),
            "{} fixed twin {speed:?} reported:\n{}",
            family.app,
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
