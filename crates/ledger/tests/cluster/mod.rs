//! Two throw-away PostgreSQL clusters, a primary replicating synchronously to a standby, for the
//! failover tests (the ledger's, and the server nodes' in `crates/cli/tests/nodes.rs`, which
//! includes this file). Needs the server binaries (`/usr/lib/postgresql/<v>/bin`, Debian's
//! `postgresql`, as `.ci/run` installs) and root, to run the clusters as the `postgres` user.
#![allow(dead_code)]
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The newest installed server's binaries.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (apt-get install postgresql)")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().expect("initdb")
}

/// Two distinct free ports (both listeners held until both are chosen).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = |l: &TcpListener| l.local_addr().expect("addr").port();
    (port(&a), port(&b))
}

/// Runs a server binary as `postgres`.
fn as_postgres(bin: &Path, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin)
        .args(args)
        .output()
        .expect("runuser");
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two throw-away clusters in a scratch directory, stopped and removed on drop.
pub struct Clusters {
    root: PathBuf,
    bin: PathBuf,
}

impl Clusters {
    /// A primary (`primary`) replicating synchronously to a standby (`standby`, named `standby1`),
    /// both started; answers them and a connection string naming both hosts with
    /// `target_session_attrs=read-write` (a client follows the promotion by itself).
    pub fn replicated(name: &str) -> (Clusters, String) {
        let bin = bin_dir();
        let root = std::env::temp_dir().join(format!("hanpyo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("dir");
        let clusters = Clusters { root, bin };
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&clusters.root)
            .status()
            .expect("chown");
        assert!(chown.success());
        let (p1, p2) = free_ports();
        let primary = clusters.dir("primary");
        as_postgres(
            &clusters.bin.join("initdb"),
            &[
                "-D",
                primary.to_str().expect("utf8"),
                "--auth=trust",
                "-U",
                "postgres",
            ],
        );
        // Synchronous replication to the standby named `standby1`: COMMIT returns only once the
        // standby has flushed the commit's WAL.
        let mut conf = std::fs::read_to_string(primary.join("postgresql.conf")).expect("conf");
        conf.push_str(
            "\nsynchronous_standby_names = 'standby1'\nsynchronous_commit = on\nfsync = on\n",
        );
        std::fs::write(primary.join("postgresql.conf"), conf).expect("conf");
        clusters.start("primary", p1);
        let standby = clusters.dir("standby");
        as_postgres(
            &clusters.bin.join("pg_basebackup"),
            &[
                "-D",
                standby.to_str().expect("utf8"),
                "-d",
                &format!("host=127.0.0.1 port={p1} user=postgres application_name=standby1"),
                "-R",
                "-X",
                "stream",
            ],
        );
        // The name the primary waits for (pg_basebackup -R does not keep application_name); and once
        // promoted, the standby has no standby of its own to wait for until one is attached
        // (docs/deployment.md, *Failover*).
        let auto = standby.join("postgresql.auto.conf");
        let mut conf = std::fs::read_to_string(&auto).expect("auto conf");
        conf.push_str(&format!(
            "\nprimary_conninfo = 'host=127.0.0.1 port={p1} user=postgres application_name=standby1'\n\
             synchronous_standby_names = ''\n"
        ));
        std::fs::write(&auto, conf).expect("auto conf");
        clusters.start("standby", p2);

        let url = format!(
            "host=127.0.0.1,127.0.0.1 port={p1},{p2} user=postgres dbname=postgres \
             target_session_attrs=read-write connect_timeout=2"
        );
        (clusters, url)
    }

    /// Promotes the cluster `name` (a standby) to primary, waiting until it accepts writes.
    pub fn promote(&self, name: &str) {
        as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                self.dir(name).to_str().expect("utf8"),
                "-w",
                "promote",
            ],
        );
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn start(&self, name: &str, port: u16) {
        let dir = self.dir(name);
        as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                dir.to_str().expect("utf8"),
                "-l",
                dir.join("server.log").to_str().expect("utf8"),
                "-o",
                &format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1",
                    self.root.display()
                ),
                "-w",
                "start",
            ],
        );
    }

    /// Every process of the cluster `name`, SIGKILLed at once.
    pub fn kill(&self, name: &str) {
        let pid_file =
            std::fs::read_to_string(self.dir(name).join("postmaster.pid")).expect("postmaster.pid");
        let postmaster = pid_file.lines().next().expect("pid").trim().to_string();
        let children = Command::new("pgrep")
            .args(["-P", &postmaster])
            .output()
            .expect("pgrep");
        let mut pids = vec![postmaster];
        pids.extend(
            String::from_utf8_lossy(&children.stdout)
                .split_whitespace()
                .map(str::to_string),
        );
        let status = Command::new("kill")
            .arg("-9")
            .args(&pids)
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Clusters {
    fn drop(&mut self) {
        for name in ["primary", "standby"] {
            let dir = self.dir(name);
            if dir.join("postmaster.pid").exists() {
                let _ = Command::new("runuser")
                    .args(["-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"))
                    .args(["-D", dir.to_str().unwrap_or(""), "-m", "immediate", "stop"])
                    .output();
            }
        }
        if std::thread::panicking() {
            eprintln!("the clusters' logs are kept in {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}
