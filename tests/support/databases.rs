//! Real database servers for the tests: PostgreSQL (Debian's `postgresql`)
//! and MariaDB (`mariadb-server`), each a private instance in its scratch
//! directory on a free loopback port, no Unix socket anyone else uses,
//! trust/empty-password authentication for loopback only.
//!
//! Neither server runs as root: when the tests do, the data directory is
//! handed to the unprivileged `nobody` account and the server (and its
//! `initdb`/`mariadb-install-db`) runs as that account; the harness still
//! owns the process group and stops it like any other child.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::{ChildProcess, Launch, Ready, Slot};

/// The account servers run as when the tests run as root.
const UNPRIVILEGED: &str = "nobody";

/// `(uid, gid)` to run servers as: `None` when the tests are not root.
fn unprivileged() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = CString::new(UNPRIVILEGED).expect("no NUL in the name");
    // SAFETY: getpwnam returns NULL or a pointer to a static record that
    // stays valid until the next getpw* call; both fields are read at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !entry.is_null(),
        "running as root needs the '{UNPRIVILEGED}' account to run database servers"
    );
    // SAFETY: entry is non-null (checked above).
    Some(unsafe { ((*entry).pw_uid, (*entry).pw_gid) })
}

/// A directory the server account can write: created, and handed over to
/// it when the tests are root.
fn owned_dir(path: &Path) -> PathBuf {
    std::fs::create_dir_all(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    if let Some((uid, gid)) = unprivileged() {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
    path.to_path_buf()
}

/// `program` run as the server account (itself when not root).
fn as_server(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    if let Some((uid, gid)) = unprivileged() {
        // std drops the supplementary groups when root sets a uid.
        cmd.uid(uid).gid(gid).env("HOME", "/");
    }
    cmd.env("LC_ALL", "C");
    cmd
}

/// Runs a setup program to completion; panics with its output on failure.
fn run_setup(what: &str, mut cmd: Command) {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({:?}): {e}", cmd.get_program()));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian's layout), else
/// whatever `initdb` the PATH has.
fn postgres_bin(program: &str) -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join(program).is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin.join(program))
        .unwrap_or_else(|| PathBuf::from(program))
}

/// A private PostgreSQL cluster on 127.0.0.1:<free port>; superuser
/// `postgres`, trust authentication, no Unix socket. Stopped (fast
/// shutdown) when dropped.
pub struct Postgres {
    proc: ChildProcess,
}

impl Postgres {
    /// `initdb` into a fresh scratch directory, then `postgres` in the
    /// foreground; ready when the port accepts connections.
    pub fn start() -> Postgres {
        let initdb = postgres_bin("initdb");
        let server = postgres_bin("postgres");
        let proc = Launch::new("postgres", |slot: &Slot<'_>| {
            let data = owned_dir(&slot.dir.join("pgdata"));
            let mut init = as_server(&initdb);
            init.arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]);
            run_setup("initdb", init);
            let mut cmd = as_server(&server);
            cmd.arg("-D").arg(&data).args([
                "-h",
                "127.0.0.1",
                "-p",
                &slot.port().to_string(),
                "-k",
                "",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=100",
            ]);
            cmd
        })
        .ready(Ready::Tcp)
        // SIGINT is PostgreSQL's fast shutdown: it does not wait for clients.
        .stop_signal(libc::SIGINT)
        .start();
        Postgres { proc }
    }

    pub fn port(&self) -> u16 {
        self.proc.port()
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.proc
    }

    /// Creates database `name`, so that one cluster serves several targets,
    /// and returns its URL for SQLAlchemy with psycopg.
    pub fn create_database(&self, name: &str) -> String {
        let mut createdb = Command::new(postgres_bin("createdb"));
        createdb.args(["-h", "127.0.0.1", "-p", &self.port().to_string()]);
        createdb.args(["-U", "postgres", name]);
        let output = createdb.output().expect("createdb runs");
        assert!(
            output.status.success(),
            "createdb {name}: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.proc.log_tail(20)
        );
        format!(
            "postgresql+psycopg://postgres@127.0.0.1:{}/{name}",
            self.port()
        )
    }
}

/// A private MariaDB server on 127.0.0.1:<free port>; `root` with an empty
/// password over TCP, its socket in its own data directory. Stopped when
/// dropped.
pub struct MariaDb {
    proc: ChildProcess,
}

impl MariaDb {
    /// `mariadb-install-db` into a fresh scratch directory, then `mariadbd`;
    /// ready when the port accepts connections.
    pub fn start() -> MariaDb {
        let proc = Launch::new("mariadbd", |slot: &Slot<'_>| {
            let data = owned_dir(&slot.dir.join("mysql"));
            let mut install = as_server("mariadb-install-db");
            install
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .args([
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                ]);
            run_setup("mariadb-install-db", install);
            let daemon = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
                .into_iter()
                .find(|p| Path::new(p).is_file())
                .unwrap_or("mariadbd");
            let mut cmd = as_server(daemon);
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--socket={}", data.join("mysqld.sock").display()))
                .arg(format!("--port={}", slot.port()))
                .args([
                    "--bind-address=127.0.0.1",
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--innodb-buffer-pool-size=16M",
                    "--innodb-log-file-size=8M",
                    "--innodb-flush-log-at-trx-commit=0",
                    "--performance-schema=OFF",
                ]);
            cmd
        })
        .ready(Ready::Tcp)
        .start();
        MariaDb { proc }
    }

    pub fn port(&self) -> u16 {
        self.proc.port()
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.proc
    }
}
