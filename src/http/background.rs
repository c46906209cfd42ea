//! Servers on a background thread with their own actix System, for callers that are not
//! async (the benchmark harness): the chartroom API on a store, and a trivial endpoint that
//! answers fixed bytes (the raw-HTTP limit the harness compares against).

use crate::store::Store;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// A server running on its own thread; stopped (gracefully) on drop.
pub struct BackgroundServer {
    /// The address it listens on (127.0.0.1, a free port).
    pub addr: SocketAddr,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(true));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run_on_thread(
    listener: TcpListener,
    build: impl FnOnce(TcpListener) -> io::Result<actix_web::dev::Server> + Send + 'static,
) -> io::Result<BackgroundServer> {
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match build(listener) {
                Ok(server) => {
                    let _ = tx.send(Ok(server.handle()));
                    let _ = server.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
    });
    let handle = rx
        .recv()
        .map_err(|_| io::Error::other("server thread ended before starting"))??;
    Ok(BackgroundServer {
        addr,
        handle: Some(handle),
        thread: Some(thread),
    })
}

/// Serves the chartroom API on `store` at 127.0.0.1 on a free port.
pub fn spawn(store: Store) -> io::Result<BackgroundServer> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    run_on_thread(listener, move |l| crate::start(store, l))
}

/// Serves `body` with `content_type` for every request: no routing, no middleware, no
/// database — the cost of HTTP alone.
pub fn spawn_fixed_body(body: Vec<u8>, content_type: String) -> io::Result<BackgroundServer> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let body = web::Bytes::from(body);
    run_on_thread(listener, move |l| {
        Ok(HttpServer::new(move || {
            let body = body.clone();
            let content_type = content_type.clone();
            App::new().default_service(web::to(move || {
                let body = body.clone();
                let content_type = content_type.clone();
                async move { HttpResponse::Ok().content_type(content_type).body(body) }
            }))
        })
        .listen(l)?
        .run())
    })
}
