//! Test support (used by this crate's tests and the workspace's black-box tests): a private `moto_server` per test on 127.0.0.1, and SDK clients pointed at it.
//!
//! The binary comes from `WOOSELLSY_MOTO_SERVER`, else `.venv/bin/moto_server` at the workspace root
//! (`.ci/run` installs it from `infra/requirements.txt`). Without it a test is skipped with a loud
//! message, unless `WOOSELLSY_REQUIRE_MOTO=1` (CI), where it fails.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

pub const REGION: &str = "eu-west-3";

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A venv tool: `$env_var`, else `.venv/bin/{name}`; `None` (after a loud message) when absent and not
/// required by `$require_var=1`.
pub fn venv_tool(name: &str, env_var: &str, require_var: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin").join(name));
    if path.is_file() {
        return Some(path);
    }
    let required = std::env::var(require_var).is_ok_and(|v| v == "1");
    let msg = format!(
        "{name} not found at {} (set {env_var}, or run: python3 -m venv .venv && .venv/bin/pip install -r infra/requirements.txt)",
        path.display()
    );
    if required {
        panic!("{msg}; {require_var}=1 so this is a failure");
    }
    eprintln!("\n!!!!!!!!!! SKIPPED: {msg} !!!!!!!!!!\n");
    None
}

/// moto_server serves requests on parallel threads, and its DynamoDB model does not make a conditional
/// write atomic against a concurrent one: 32 racing `PutItem`s with `attribute_not_exists` can see two
/// winners, which real DynamoDB never allows. This launcher is moto_server with every request handled
/// under one lock (connections still have their own threads), so a race test tests our condition
/// expressions, not moto's thread safety.
const SERIAL_MOTO: &str = r#"
import os, sys, threading
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()

def serialized(environ, start_response):
    with lock:
        return list(app(environ, start_response))

run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)
"#;

/// A running moto_server, killed when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts a fresh server, or `None` when moto is not installed (and not required).
    pub fn start() -> Option<Moto> {
        let bin = venv_tool(
            "moto_server",
            "WOOSELLSY_MOTO_SERVER",
            "WOOSELLSY_REQUIRE_MOTO",
        )?;
        // The OS picks a free port; moto binds it right after (a tiny race, retried below).
        for _ in 0..5 {
            let port = {
                let l =
                    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an ephemeral port");
                l.local_addr().expect("local addr").port()
            };
            // The venv's python runs the serialized launcher; a moto_server given by path alone runs as is.
            let python = bin.with_file_name("python3");
            let mut command = if python.is_file() {
                let mut c = Command::new(&python);
                c.args(["-c", SERIAL_MOTO, "127.0.0.1", &port.to_string()]);
                c
            } else {
                let mut c = Command::new(&bin);
                c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                c
            };
            let child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            if moto.wait_ready(port) {
                return Some(moto);
            }
        }
        panic!("moto_server did not start");
    }

    fn wait_ready(&mut self, port: u16) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false; // exited: port taken, try another
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub async fn config(&self) -> SdkConfig {
        crate::sdk_config_for_endpoint(&self.endpoint, REGION).await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a FIFO queue (and its FIFO DLQ with `max_receives`) the way the template does; returns
/// (queue url, dlq url).
pub async fn create_fifo_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility_seconds: u32,
    max_receives: u32,
) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq.fifo"))
        .attributes(A::FifoQueue, "true")
        .send()
        .await
        .expect("create dlq");
    let dlq_url = dlq.queue_url.expect("dlq url");
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .expect("dlq attributes")
        .attributes
        .and_then(|a| a.get(&A::QueueArn).cloned())
        .expect("dlq arn");
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
            .to_string();
    let q = sqs
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(A::FifoQueue, "true")
        .attributes(A::ContentBasedDeduplication, "false")
        .attributes(A::VisibilityTimeout, visibility_seconds.to_string())
        .attributes(A::MaximumMessageSize, "262144")
        .attributes(A::RedrivePolicy, redrive)
        .send()
        .await
        .expect("create queue");
    (q.queue_url.expect("queue url"), dlq_url)
}
