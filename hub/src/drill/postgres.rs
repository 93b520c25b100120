//! A private PostgreSQL cluster for a drill: `initdb` into a temporary directory and `pg_ctl`
//! on a free port of 127.0.0.1, so that killing and restarting it touches nothing else on the
//! machine. The binaries are the installed PostgreSQL's (`pg_config --bindir`, else
//! `/usr/lib/postgresql/*/bin`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::DrillError;

/// A running private cluster.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// Where the cluster lives: a directory of its own under the system's temporary folder,
    /// which the `postgres` user can reach (the drill's own may be private to root).
    _home: tempfile::TempDir,
}

fn bindir() -> Result<PathBuf, DrillError> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    found.sort();
    found
        .into_iter()
        .rev()
        .find(|b| b.join("initdb").exists())
        .ok_or_else(|| {
            DrillError::Setup(
                "no PostgreSQL binaries (initdb, pg_ctl): install PostgreSQL's server package"
                    .into(),
            )
        })
}

fn run(cmd: &mut Command, what: &str) -> Result<(), DrillError> {
    let out = cmd
        .output()
        .map_err(|e| DrillError::Setup(format!("{what}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(DrillError::Setup(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl PrivatePostgres {
    /// Creates a cluster (trust authentication, user `postgres`) in a temporary directory of
    /// its own and starts it on a free port. PostgreSQL refuses to run as root: the drill then
    /// runs it as `postgres`.
    pub fn start() -> Result<PrivatePostgres, DrillError> {
        let bin = bindir()?;
        let home = tempfile::Builder::new()
            .prefix("hutong-drill-pg-")
            .tempdir()
            .map_err(|e| DrillError::Setup(format!("a directory for PostgreSQL: {e}")))?;
        let data = home.path().join("pgdata");
        std::fs::create_dir_all(&data).map_err(|e| DrillError::Setup(e.to_string()))?;
        let as_root = is_root();
        if as_root {
            use std::os::unix::fs::PermissionsExt;
            let open = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(home.path(), open)
                .map_err(|e| DrillError::Setup(e.to_string()))?;
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(home.path()),
                "chown the drill's PostgreSQL directory",
            )?;
        }
        let mut initdb = pg_command(&bin.join("initdb"), as_root);
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        run(&mut initdb, "initdb")?;
        let port = free_port()?;
        let pg = PrivatePostgres {
            bin,
            data,
            port,
            _home: home,
        };
        pg.resume()?;
        Ok(pg)
    }

    /// The URL of database `name` (created first if absent).
    pub fn database(&self, name: &str) -> Result<String, DrillError> {
        let mut create = pg_command(&self.bin.join("createdb"), is_root());
        create.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            name,
        ]);
        run(&mut create, "createdb")?;
        Ok(format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.port
        ))
    }

    /// Kills the server as a crash would (`pg_ctl stop -m immediate`: no checkpoint).
    pub fn crash(&self) -> Result<(), DrillError> {
        let mut stop = pg_command(&self.bin.join("pg_ctl"), is_root());
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        run(&mut stop, "pg_ctl stop -m immediate")
    }

    /// Starts the server again (after [`PrivatePostgres::crash`]); it recovers from its WAL.
    pub fn resume(&self) -> Result<(), DrillError> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=on \
             -c max_connections=200",
            self.port
        );
        let mut start = pg_command(&self.bin.join("pg_ctl"), is_root());
        start
            .arg("-D")
            .arg(&self.data)
            .args(["-o", &options, "-w", "-t", "60", "-l"])
            .arg(self.data.join("server.log"))
            .arg("start");
        run(&mut start, "pg_ctl start")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.crash();
    }
}

/// True when this process runs as root (its effective uid, as `/proc/self/status` says).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The command `program`, run as the `postgres` user when we are root.
fn pg_command(program: &Path, as_root: bool) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A port of 127.0.0.1 free now.
pub fn free_port() -> Result<u16, DrillError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| DrillError::Setup(format!("finding a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| DrillError::Setup(e.to_string()))
}
