//! A minimal HTTP/1.1 keep-alive client over `std::net::TcpStream`: one request at a time,
//! bodies framed by Content-Length (or chunked), reconnecting when the server closes. Low
//! overhead so the load driver measures the server, not the client.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: status and body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

/// One keep-alive connection.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    request: Vec<u8>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            conn: None,
            request: Vec::with_capacity(4096),
        }
    }

    fn connect(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        if self.conn.is_none() {
            let stream = TcpStream::connect(self.addr)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(120)))?;
            self.conn = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        self.conn
            .as_mut()
            .ok_or_else(|| io::Error::other("no connection"))
    }

    /// Sends `method path` with an optional JSON body; retries once on a fresh connection
    /// when a kept-alive one turns out closed.
    pub fn send(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> io::Result<Reply> {
        self.request.clear();
        let host = self.addr;
        write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/fhir+json\r\n"
        )?;
        if let Some(body) = body {
            write!(
                self.request,
                "Content-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )?;
            self.request.extend_from_slice(body);
        } else {
            self.request.extend_from_slice(b"\r\n");
        }
        let reused = self.conn.is_some();
        match self.exchange() {
            Ok(reply) => Ok(reply),
            Err(_) if reused => {
                self.conn = None;
                self.exchange()
            }
            Err(e) => Err(e),
        }
    }

    fn exchange(&mut self) -> io::Result<Reply> {
        let request = std::mem::take(&mut self.request);
        let result = self.connect().and_then(|conn| {
            conn.get_mut().write_all(&request)?;
            read_reply(conn)
        });
        self.request = request;
        match result {
            Ok((reply, keep_alive)) => {
                if !keep_alive {
                    self.conn = None;
                }
                Ok(reply)
            }
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }
}

fn bad(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

/// Reads one response; also says whether the connection stays open.
fn read_reply(conn: &mut BufReader<TcpStream>) -> io::Result<(Reply, bool)> {
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut keep_alive = true;
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(bad("headers cut short"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse().map_err(|_| bad("bad Content-Length"))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                keep_alive = !value.eq_ignore_ascii_case("close");
            }
        }
    }
    let body = if chunked {
        read_chunked(conn)?
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        conn.read_exact(&mut body)?;
        body
    } else if status == 204 || status == 304 {
        Vec::new()
    } else {
        let mut body = Vec::new();
        conn.read_to_end(&mut body)?;
        keep_alive = false;
        body
    };
    Ok((Reply { status, body }, keep_alive))
}

fn read_chunked(conn: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            loop {
                line.clear();
                if conn.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        conn.read_exact(&mut body[start..])?;
        line.clear();
        conn.read_line(&mut line)?;
    }
}
