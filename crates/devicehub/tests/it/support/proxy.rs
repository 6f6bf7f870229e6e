//! A TCP proxy in front of the PostgreSQL test server that a test can cut and restore, to
//! make the database unreachable for one server process without touching anyone else's.

use std::{
    io,
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use super::{Backend, TestApp, TestDb, database::reroute};

pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    down: AtomicBool,
    stopped: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

/// A server (with `env`) on a fresh PostgreSQL database that it reaches only through a
/// [`Proxy`] in front of the shared test server. Bind them in this order, so the server stops
/// before its proxy does.
pub(crate) fn app_behind_proxy(env: &[(&str, &str)]) -> (Proxy, TestApp) {
    let db = TestDb::fresh(Backend::Postgres);
    let (upstream, _) = reroute(&db.url, "127.0.0.1:1".parse().expect("an address"));
    let proxy = Proxy::start(upstream);
    let (_, through_proxy) = reroute(&db.url, proxy.addr);
    let app = TestApp::start_on_url(db, Some(&through_proxy), env);
    (proxy, app)
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub(crate) fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(State::default());
        let shared = state.clone();
        thread::spawn(move || accept_loop(&listener, upstream, &shared));
        Proxy { addr, state }
    }

    /// Cuts every open connection and refuses new ones until [`Proxy::restore`].
    pub(crate) fn cut(&self) {
        self.state.down.store(true, Ordering::SeqCst);
        for stream in self.state.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub(crate) fn restore(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        self.cut();
    }
}

fn accept_loop(listener: &TcpListener, upstream: SocketAddr, state: &Arc<State>) {
    while !state.stopped.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if state.down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let _ = forward(client, upstream, state);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(_) => break,
        }
    }
}

fn forward(client: TcpStream, upstream: SocketAddr, state: &Arc<State>) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect(upstream)?;
    {
        let mut open = state.open.lock().unwrap();
        // Checked under the lock `cut` drains: a connection accepted just before a cut is
        // either drained by it or refused here, never left open through the outage.
        if state.down.load(Ordering::SeqCst) {
            return Ok(());
        }
        open.push(client.try_clone()?);
        open.push(server.try_clone()?);
    }
    pipe(client.try_clone()?, server.try_clone()?);
    pipe(server, client);
    Ok(())
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}
