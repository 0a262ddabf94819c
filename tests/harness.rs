//! The harness itself: every kind of child the suite starts is found while
//! it runs and gone, group and all, once its guard is dropped; and children
//! stop by themselves when the test binary dies without dropping them.
//!
//! The tests take turns: [`support::survivors`] looks at every process this
//! test binary started.

mod support;

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use support::proxy::{self, Nginx, Varnish};
use support::tls::{SServer, TlsProfile};
use support::{survivors, ChildProcess, FlaskApp, Launch, MotoServer, Ready, Slot, TestPki};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn listing(pids: &[u32]) -> String {
    let all = survivors();
    pids.iter()
        .map(|pid| match all.iter().find(|s| s.pid == *pid) {
            Some(s) => format!("  {pid} ({}) {}", s.by, s.cmdline),
            None => format!("  {pid} (not recognised as the suite's)"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_no_survivors(when: &str) {
    let left = survivors();
    assert!(
        left.is_empty(),
        "{when}, processes the harness started are still running:\n{}",
        left.iter()
            .map(|s| format!("  {} (parent {}, by {}) {}", s.pid, s.ppid, s.by, s.cmdline))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Waits until `done` holds, for at most `limit`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// Every process of `child`'s group is recognised as the suite's; stopping
/// it is graceful (no SIGKILL) and leaves none of them.
fn check_and_stop(child: &mut ChildProcess, at_least: usize) {
    let group = child.group();
    assert!(
        group.len() >= at_least,
        "{}: expected at least {at_least} processes in its group, found {group:?}",
        child.name()
    );
    let seen: Vec<u32> = survivors().iter().map(|s| s.pid).collect();
    let missed: Vec<u32> = group
        .iter()
        .copied()
        .filter(|p| !seen.contains(p))
        .collect();
    assert!(
        missed.is_empty(),
        "{}: processes of its group not recognised:\n{}",
        child.name(),
        listing(&missed)
    );
    let stopped = child.stop();
    assert!(
        stopped.graceful && stopped.group_gone,
        "{}: {stopped:?}",
        child.name()
    );
    let left: Vec<u32> = group.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        left.is_empty(),
        "{}: still running after stop:\n{}",
        child.name(),
        listing(&left)
    );
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, s)| !s.starts_with('Z'))
    })
}

#[test]
fn every_kind_of_child_is_stopped_gracefully_with_its_whole_group() {
    let _turn = one_at_a_time();
    assert_no_survivors("before the test");

    let mut moto = MotoServer::start();
    let mut app = FlaskApp::start(
        "cache/app.py",
        "fixed",
        &moto,
        &[("TABLE_PREFIX", "harness")],
    );
    let mut varnish = Varnish::start(proxy::cache_target_path(proxy::VARNISH_FIXED), app.port());
    let mut nginx = Nginx::start(proxy::cache_target_path(proxy::NGINX_FIXED), app.port());
    let pki = TestPki::new();
    let cert = pki.leaf(Default::default());
    let mut s_server = SServer::start(&pki, &cert, true, TlsProfile::Modern);

    // nginx's master forks a worker and varnishd its cache process: both
    // are found (nginx by its working directory, as it overwrites its
    // environment), and both go with their group.
    check_and_stop(nginx.process(), 2);
    check_and_stop(varnish.process(), 2);
    check_and_stop(app.process(), 1);
    check_and_stop(moto.process(), 1);
    check_and_stop(s_server.process(), 1);
    drop((nginx, varnish, app, moto, s_server));
    assert_no_survivors("after every guard was dropped");
}

/// `tests/targets/common/watchdog.py`: a target whose parent dies (here an
/// `sh` in between, killed with SIGKILL, as a test binary would be) exits
/// by itself, without the harness stopping it.
#[test]
fn a_python_target_exits_when_its_parent_dies() {
    let _turn = one_at_a_time();
    let pki = TestPki::generate();
    let (cert, key) = (pki.cert_chain(), pki.key());
    let python = support::targets::target_command("transport/app.py", "fixed", &[], |cmd| {
        cmd.env("TLS_CERT", &cert).env("TLS_KEY", &key);
    });
    let mut target = Launch::new("transport[parent dies]", |slot: &Slot<'_>| {
        let app = python(slot.port());
        // The app's parent is this sh, and the sh names itself as the
        // parent to watch.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("RAMPART_PARENT_PID=$$; export RAMPART_PARENT_PID; \"$@\" & wait")
            .arg("sh")
            .arg(app.get_program())
            .args(app.get_args());
        for (k, v) in app.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    })
    .ready(Ready::Http {
        wire: support::Wire::Https,
        path: "/api/health".into(),
        ok: |status| status == 200,
        fresh_query: false,
    })
    .start();
    let group = target.group();
    assert_eq!(group.len(), 2, "sh and the app: {group:?}");

    // SAFETY: kill(2) on the pid of a child this test started.
    unsafe {
        libc::kill(target.pid() as i32, libc::SIGKILL);
    }
    assert!(eventually(Duration::from_secs(2), || target
        .try_exit_status()
        .is_some()));
    assert!(
        eventually(Duration::from_secs(10), || target.group().is_empty()),
        "the app outlived its parent: {:?}",
        target.group()
    );
    drop(target);
    assert_no_survivors("after the parent died");
}

/// The harness's own watchdog: when the test binary dies without dropping
/// a guard, the child's whole group is stopped and its directory removed.
#[test]
fn the_watchdog_stops_the_group_when_the_test_binary_dies() {
    let _turn = one_at_a_time();
    // Stands in for the test binary.
    let mut parent = Command::new("sleep")
        .arg("300")
        .spawn()
        .expect("spawn sleep");
    let mut child = Launch::new("orphan", |_: &Slot<'_>| {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 300 & sleep 300 & wait"]);
        cmd
    })
    .ready(Ready::Started)
    .watchdog_parent(parent.id())
    .start();
    assert!(
        eventually(Duration::from_secs(5), || child.group().len() == 3),
        "sh and two sleeps: {:?}",
        child.group()
    );
    let dir = child.dir().to_path_buf();

    parent.kill().expect("kill the stand-in parent");
    parent.wait().expect("reap the stand-in parent");
    // Reaping the leader here is what init does once the test binary is gone.
    assert!(
        eventually(Duration::from_secs(10), || {
            let _ = child.try_exit_status();
            child.group().is_empty()
        }),
        "the group outlived the test binary: {:?}",
        child.group()
    );
    assert!(
        eventually(Duration::from_secs(5), || !dir.exists()),
        "{} left behind",
        dir.display()
    );
    drop(child);
    assert_no_survivors("after the watchdog stopped the group");
}
