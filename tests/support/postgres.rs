//! A private PostgreSQL cluster (Debian's `postgresql`) on a loopback port:
//! `initdb` in the launch's scratch directory, then `postgres` listening on
//! 127.0.0.1 only, trust authentication for the one role `rampart`. Root
//! cannot run a cluster, so as root both run as the `postgres` user the
//! package creates. One cluster serves several targets, each with its own
//! database ([`Postgres::create_database`]).

use std::path::PathBuf;
use std::process::Command;

use super::process::{ChildProcess, Launch, Ready, Slot};

/// The role every database belongs to.
pub const ROLE: &str = "rampart";

/// A running cluster; stopped (fast shutdown) on Drop.
pub struct Postgres {
    proc: ChildProcess,
    bin: PathBuf,
}

/// Where the server binaries are: `$RAMPART_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin`. Panics (never skips) when there is
/// none: scripts/test installs the package.
pub fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("RAMPART_PG_BIN").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("PostgreSQL is missing: run scripts/test (it installs Debian's postgresql)")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    /// Initialises and starts a cluster; waits until it accepts TCP
    /// connections.
    pub fn start() -> Postgres {
        let bin = pg_bin();
        let root = is_root();
        let proc = Launch::new("postgres", |slot: &Slot<'_>| {
            let dir = slot.dir.display().to_string();
            let script = format!(
                "set -e; '{bin}/initdb' -D '{dir}/data' -U {ROLE} --auth=trust -E UTF8 --no-sync \
                 > '{dir}/initdb.log' 2>&1; exec '{bin}/postgres' -D '{dir}/data' -h 127.0.0.1 \
                 -p {port} -k '{dir}' -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                bin = bin.display(),
                port = slot.port(),
            );
            let mut cmd = if root {
                // The scratch directory is root's; the cluster's user must own it.
                let mut cmd = Command::new("sh");
                cmd.arg("-c").arg(format!(
                    "chown -R postgres '{dir}' && exec runuser -u postgres -- sh -c \"$0\"",
                ));
                cmd.arg(&script);
                cmd
            } else {
                let mut cmd = Command::new("sh");
                cmd.arg("-c").arg(&script);
                cmd
            };
            cmd.current_dir(slot.dir);
            cmd
        })
        .ready(Ready::Tcp)
        // SIGINT: a fast shutdown, which does not wait for clients to leave.
        .stop_signal(2)
        .start();
        Postgres { proc, bin }
    }

    pub fn port(&self) -> u16 {
        self.proc.port()
    }

    /// Creates database `name` (owned by [`ROLE`]) and returns its URL for
    /// SQLAlchemy with psycopg.
    pub fn create_database(&self, name: &str) -> String {
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port().to_string(),
                "-U",
                ROLE,
                name,
            ])
            .output()
            .expect("createdb runs");
        assert!(
            out.status.success(),
            "createdb {name}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.proc.log_tail(20)
        );
        format!(
            "postgresql+psycopg://{ROLE}@127.0.0.1:{}/{name}",
            self.port()
        )
    }

    pub fn log_tail(&self, n: usize) -> String {
        self.proc.log_tail(n)
    }
}
