//! Certificates and TLS servers for tests: one throwaway PKI builder made
//! with the `openssl` CLI, and `openssl s_server` in the TLS profiles the
//! prober is tested against.
//!
//! Nothing is added to any trust store: clients use `--insecure` (Rampart)
//! or accept any certificate ([`super::http::https_get_raw`]), or trust
//! [`TestPki::ca_cert`] explicitly. Needs the `openssl` binary (Debian:
//! `apt-get install -y openssl`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::process::{ChildProcess, Launch, Ready};

const REQ_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_self]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
";

/// Lifts Debian's defaults (SECLEVEL, MinProtocol) for legacy servers and
/// weak certificates.
const LEGACY_CNF: &str = "\
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = sys
[sys]
MinProtocol = None
CipherString = ALL:@SECLEVEL=0
";

/// A leaf certificate to issue, signed by the test CA for `CN=localhost`.
#[derive(Debug, Clone, Copy)]
pub struct Leaf<'a> {
    /// File name stem in the PKI directory; distinct per leaf.
    pub name: &'a str,
    pub bits: u32,
    /// Signature digest, e.g. "sha256" or "sha1".
    pub md: &'a str,
    pub san: &'a str,
    /// (startdate, enddate) as `YYYYMMDDHHMMSSZ`, else 30 days from now.
    pub dates: Option<(&'a str, &'a str)>,
}

impl Default for Leaf<'_> {
    fn default() -> Self {
        Leaf {
            name: "leaf",
            bits: 2048,
            md: "sha256",
            san: "DNS:localhost",
            dates: None,
        }
    }
}

/// An issued certificate's files.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The certificate followed by the CA: what a correctly configured server
    /// sends (for a self-signed certificate, the certificate alone).
    pub chain: PathBuf,
}

/// A throwaway PKI in a temp dir (removed on Drop): a test CA (RSA-2048,
/// SHA-256, CN "Rampart Test CA") that issues [`Leaf`]s, plus self-signed
/// certificates.
pub struct TestPki {
    dir: tempfile::TempDir,
    /// The leaf made by [`TestPki::generate`].
    default: Option<Issued>,
}

impl TestPki {
    /// The CA alone. Panics (with openssl's output) when the `openssl` CLI is
    /// missing or fails.
    pub fn new() -> TestPki {
        let dir = tempfile::Builder::new()
            .prefix("rampart-test-pki-")
            .tempdir()
            .expect("create PKI temp dir");
        let d = dir.path();
        let write = |name: &str, text: &str| {
            std::fs::write(d.join(name), text)
                .unwrap_or_else(|e| panic!("write {}: {e}", d.join(name).display()))
        };
        // An empty OPENSSL_CONF keeps distro defaults out of the way.
        write("empty.cnf", "");
        write("req.cnf", REQ_CNF);
        write("legacy.cnf", LEGACY_CNF);
        write(
            "ca.cnf",
            &format!(
                "[ca]\ndefault_ca = myca\n[myca]\ndir = {}\ndatabase = $dir/index.txt\n\
                 new_certs_dir = $dir/newcerts\nserial = $dir/serial\n\
                 certificate = $dir/ca.pem\nprivate_key = $dir/ca.key\n\
                 default_md = sha256\npolicy = pol\nunique_subject = no\n\
                 [pol]\ncommonName = supplied\n",
                d.display()
            ),
        );
        write("index.txt", "");
        write("serial", "1000\n");
        std::fs::create_dir_all(d.join("newcerts")).expect("create newcerts");
        let pki = TestPki { dir, default: None };
        pki.self_signed_as("ca", "/CN=Rampart Test CA", "v3_ca", "3650");
        pki
    }

    /// `<stem>.pem` and `<stem>.key`: a self-signed RSA-2048/SHA-256
    /// certificate for `subject` with the `req.cnf` section `extensions`.
    fn self_signed_as(&self, stem: &str, subject: &str, extensions: &str, days: &str) -> Issued {
        let (key, pem) = (format!("{stem}.key"), format!("{stem}.pem"));
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            days,
            "-keyout",
            &key,
            "-out",
            &pem,
            "-subj",
            subject,
            "-config",
            "req.cnf",
            "-extensions",
            extensions,
        ]);
        Issued {
            cert: self.path(&pem),
            key: self.path(&key),
            chain: self.path(&pem),
        }
    }

    /// The CA and one leaf for `DNS:localhost, IP:127.0.0.1` (RSA-2048,
    /// SHA-256, 30 days, serverAuth): what a target served as
    /// `https://127.0.0.1:PORT` needs to have nothing wrong with it.
    pub fn generate() -> TestPki {
        let mut pki = TestPki::new();
        pki.default = Some(pki.leaf(Leaf {
            san: "DNS:localhost,IP:127.0.0.1",
            ..Leaf::default()
        }));
        pki
    }

    /// Runs `openssl args…` in the PKI directory; panics with its output on
    /// failure and returns its stdout.
    pub fn openssl(&self, args: &[&str]) -> String {
        let d = self.dir.path();
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .env("OPENSSL_CONF", d.join("empty.cnf"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("the openssl CLI is required (apt-get install -y openssl): {e}")
            });
        assert!(
            out.status.success(),
            "openssl {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Issues `leaf` from the CA.
    pub fn leaf(&self, leaf: Leaf<'_>) -> Issued {
        let d = self.dir.path();
        let n = leaf.name;
        let (key, csr, ext, pem) = (
            format!("{n}.key"),
            format!("{n}.csr"),
            format!("{n}.ext"),
            format!("{n}.pem"),
        );
        self.openssl(&["genrsa", "-out", &key, &leaf.bits.to_string()]);
        self.openssl(&[
            "req",
            "-new",
            "-key",
            &key,
            "-out",
            &csr,
            "-subj",
            "/CN=localhost",
            "-config",
            "req.cnf",
        ]);
        std::fs::write(
            d.join(&ext),
            format!(
                "basicConstraints = CA:FALSE\nkeyUsage = digitalSignature,keyEncipherment\n\
                 extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\n\
                 authorityKeyIdentifier = keyid\nsubjectAltName = {}\n",
                leaf.san
            ),
        )
        .expect("write leaf extensions");
        let mut args = vec![
            "ca", "-batch", "-notext", "-config", "ca.cnf", "-md", leaf.md, "-extfile", &ext,
            "-in", &csr, "-out", &pem,
        ];
        match leaf.dates {
            Some((start, end)) => args.extend(["-startdate", start, "-enddate", end]),
            None => args.extend(["-days", "30"]),
        }
        self.openssl(&args);
        let chain = d.join(format!("{n}-fullchain.pem"));
        let mut full = std::fs::read(d.join(&pem)).expect("read leaf certificate");
        full.extend(std::fs::read(self.ca_cert()).expect("read CA certificate"));
        std::fs::write(&chain, full).expect("write chain");
        Issued {
            cert: d.join(pem),
            key: d.join(key),
            chain,
        }
    }

    /// A self-signed RSA-2048 certificate for `DNS:localhost`.
    pub fn self_signed(&self) -> Issued {
        self.self_signed_as("self", "/CN=localhost", "v3_self", "30")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A file in the PKI directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// The CA certificate (PEM).
    pub fn ca_cert(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// An OpenSSL config that lifts Debian's SECLEVEL and MinProtocol.
    pub fn legacy_conf(&self) -> PathBuf {
        self.path("legacy.cnf")
    }

    fn default_leaf(&self) -> &Issued {
        self.default
            .as_ref()
            .expect("TestPki::generate() makes the default leaf; TestPki::new() does not")
    }

    /// The default leaf alone (PEM).
    pub fn leaf_cert(&self) -> PathBuf {
        self.default_leaf().cert.clone()
    }

    /// The default leaf followed by the CA (PEM): what a server should be given.
    pub fn cert_chain(&self) -> PathBuf {
        self.default_leaf().chain.clone()
    }

    /// The default leaf's private key (PEM, unencrypted).
    pub fn key(&self) -> PathBuf {
        self.default_leaf().key.clone()
    }
}

// ---------------------------------------------------------------------------
// openssl s_server
// ---------------------------------------------------------------------------

/// What an `s_server` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProfile {
    /// Compiled-in defaults, TLS 1.2 + 1.3, default ciphers.
    Modern,
    /// TLS 1.0–1.3, every cipher the build has, SECLEVEL=0.
    Legacy,
    /// TLS 1.0–1.2, CBC suites only.
    CbcOnly,
    /// TLS 1.2 only, server preference: CBC first, but AEAD available.
    CbcPreferred,
    /// Like Modern but SECLEVEL=0 so weak (SHA-1, 1024-bit) certs load.
    WeakCert,
}

impl TlsProfile {
    /// (use the legacy OpenSSL config, extra `s_server` arguments)
    fn settings(self) -> (bool, &'static [&'static str]) {
        match self {
            TlsProfile::Modern => (false, &["-min_protocol", "TLSv1.2"]),
            TlsProfile::WeakCert => (
                true,
                &["-min_protocol", "TLSv1.2", "-cipher", "DEFAULT:@SECLEVEL=0"],
            ),
            TlsProfile::Legacy => (
                true,
                &[
                    "-min_protocol",
                    "TLSv1",
                    "-cipher",
                    "ALL:COMPLEMENTOFALL:@SECLEVEL=0",
                    "-legacy_renegotiation",
                ],
            ),
            TlsProfile::CbcPreferred => (
                true,
                &[
                    "-min_protocol",
                    "TLSv1.2",
                    "-max_protocol",
                    "TLSv1.2",
                    "-serverpref",
                    "-cipher",
                    "AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256",
                ],
            ),
            TlsProfile::CbcOnly => (
                true,
                &[
                    "-min_protocol",
                    "TLSv1",
                    "-max_protocol",
                    "TLSv1.2",
                    "-cipher",
                    "ECDHE-RSA-AES128-SHA:AES256-SHA:@SECLEVEL=0",
                ],
            ),
        }
    }
}

/// `openssl s_server -www` on a free port with `cert`, ready once it accepts
/// TCP connections.
pub struct SServer {
    proc: ChildProcess,
}

impl SServer {
    /// With `send_chain`, the server sends the CA after the certificate.
    pub fn start(pki: &TestPki, cert: &Issued, send_chain: bool, profile: TlsProfile) -> SServer {
        let (legacy, extra) = profile.settings();
        let conf = if legacy {
            pki.legacy_conf()
        } else {
            pki.path("empty.cnf")
        };
        let ca = pki.ca_cert();
        let proc = Launch::new("s_server", |slot| {
            let mut cmd = Command::new("openssl");
            cmd.arg("s_server")
                .arg("-accept")
                .arg(format!("127.0.0.1:{}", slot.port()))
                .arg("-cert")
                .arg(&cert.cert)
                .arg("-key")
                .arg(&cert.key)
                .args(extra)
                .arg("-www")
                .arg("-quiet")
                .env("OPENSSL_CONF", &conf);
            if send_chain {
                cmd.arg("-cert_chain").arg(&ca);
            }
            cmd
        })
        .ready(Ready::Tcp)
        .timeout(std::time::Duration::from_secs(10))
        .start();
        SServer { proc }
    }

    pub fn port(&self) -> u16 {
        self.proc.port()
    }

    pub fn process(&mut self) -> &mut ChildProcess {
        &mut self.proc
    }
}
