//! The smallest tar (POSIX ustar) writer and reader a base backup needs:
//! regular files and directories, names up to 255 bytes (prefix + name),
//! sizes up to 8 GiB. Each member is a 512-byte header then the contents
//! padded to 512 bytes; the archive ends with two zero blocks.

use std::io;

pub const BLOCK: usize = 512;

/// A member's header. `dir` members have no contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub path: String,
    pub size: u64,
    pub mode: u32,
    pub dir: bool,
    pub mtime: u64,
}

fn octal(field: &mut [u8], v: u64) {
    let s = format!("{:0width$o}", v, width = field.len() - 1);
    assert!(s.len() < field.len(), "tar field overflow: {v}");
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[s.len()] = 0;
}

/// Encodes a header block. Err when the name does not fit ustar.
pub fn header(h: &Header) -> io::Result<[u8; BLOCK]> {
    let mut b = [0u8; BLOCK];
    let path = if h.dir && !h.path.ends_with('/') {
        format!("{}/", h.path)
    } else {
        h.path.clone()
    };
    let (prefix, name) = if path.len() <= 100 {
        ("", path.as_str())
    } else {
        // Split at a '/' so that the name part fits in 100 bytes.
        let cut = path[..path.len().min(156)]
            .rfind('/')
            .filter(|&i| path.len() - i - 1 <= 100 && i <= 155)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("file name too long for tar format: \"{path}\""),
                )
            })?;
        (&path[..cut], &path[cut + 1..])
    };
    b[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut b[100..108], h.mode as u64);
    octal(&mut b[108..116], 0);
    octal(&mut b[116..124], 0);
    octal(&mut b[124..136], if h.dir { 0 } else { h.size });
    octal(&mut b[136..148], h.mtime);
    b[156] = if h.dir { b'5' } else { b'0' };
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // Checksum: sum of all bytes with the checksum field as spaces.
    b[148..156].fill(b' ');
    let sum: u32 = b.iter().map(|&x| x as u32).sum();
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
    Ok(b)
}

fn parse_octal(field: &[u8]) -> io::Result<u64> {
    let s: String = field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(s, 8)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "invalid tar header"))
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Decodes a header block; None for a zero block (end of archive).
pub fn parse_header(b: &[u8; BLOCK]) -> io::Result<Option<Header>> {
    if b.iter().all(|&x| x == 0) {
        return Ok(None);
    }
    let stored = parse_octal(&b[148..156])? as u32;
    let mut copy = *b;
    copy[148..156].fill(b' ');
    let sum: u32 = copy.iter().map(|&x| x as u32).sum();
    if sum != stored {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "tar header checksum mismatch",
        ));
    }
    let name = cstr(&b[..100]);
    let prefix = cstr(&b[345..500]);
    let mut path = if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    };
    let dir = b[156] == b'5';
    if dir {
        while path.ends_with('/') {
            path.pop();
        }
    }
    Ok(Some(Header {
        path,
        size: parse_octal(&b[124..136])?,
        mode: parse_octal(&b[100..108])? as u32,
        dir,
        mtime: parse_octal(&b[136..148])?,
    }))
}

/// Zero bytes that pad `size` bytes of contents to a whole block.
pub fn padding(size: u64) -> usize {
    (BLOCK - (size % BLOCK as u64) as usize) % BLOCK
}

/// Reads an archive from a byte stream pushed in pieces (the client gets
/// it in CopyData messages) and calls back for each member.
pub struct Unpacker<F: FnMut(Event<'_>) -> io::Result<()>> {
    buf: Vec<u8>,
    state: State,
    on: F,
    pub finished: bool,
}

/// What the unpacker reports.
pub enum Event<'a> {
    Dir(&'a Header),
    /// The start of a file; its contents follow in `Data` events.
    File(&'a Header),
    Data(&'a [u8]),
    /// The current file is complete.
    FileEnd,
}

enum State {
    Header,
    Data { left: u64, pad: usize },
}

impl<F: FnMut(Event<'_>) -> io::Result<()>> Unpacker<F> {
    pub fn new(on: F) -> Self {
        Unpacker {
            buf: Vec::new(),
            state: State::Header,
            on,
            finished: false,
        }
    }

    pub fn push(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() && !self.finished {
            match &mut self.state {
                State::Header => {
                    let need = BLOCK - self.buf.len();
                    let n = need.min(data.len());
                    self.buf.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    if self.buf.len() < BLOCK {
                        continue;
                    }
                    let block: [u8; BLOCK] = self.buf[..].try_into().expect("one block");
                    self.buf.clear();
                    match parse_header(&block)? {
                        None => self.finished = true,
                        Some(h) if h.dir => (self.on)(Event::Dir(&h))?,
                        Some(h) => {
                            (self.on)(Event::File(&h))?;
                            if h.size == 0 {
                                (self.on)(Event::FileEnd)?;
                            } else {
                                self.state = State::Data {
                                    left: h.size,
                                    pad: padding(h.size),
                                };
                            }
                        }
                    }
                }
                State::Data { left, pad } => {
                    if *left > 0 {
                        let n = (*left).min(data.len() as u64) as usize;
                        let chunk = &data[..n];
                        data = &data[n..];
                        *left -= n as u64;
                        let done = *left == 0;
                        (self.on)(Event::Data(chunk))?;
                        if done {
                            (self.on)(Event::FileEnd)?;
                        }
                    } else {
                        let n = (*pad).min(data.len());
                        *pad -= n;
                        data = &data[n..];
                    }
                    if let State::Data { left: 0, pad: 0 } = self.state {
                        self.state = State::Header;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_long_names_use_the_prefix() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        for (path, dir) in [
            ("base/1/1259", false),
            ("pg_wal", true),
            (long.as_str(), false),
        ] {
            let h = Header {
                path: path.to_string(),
                size: if dir { 0 } else { 12345 },
                mode: 0o600,
                dir,
                mtime: 1_700_000_000,
            };
            assert_eq!(parse_header(&header(&h).unwrap()).unwrap(), Some(h));
        }
        assert!(
            header(&Header {
                path: "x".repeat(300),
                size: 0,
                mode: 0o600,
                dir: false,
                mtime: 0
            })
            .is_err()
        );
    }

    #[test]
    fn unpacker_reassembles_files_from_arbitrary_pieces() {
        let mut archive = Vec::new();
        for (name, body) in [("a", &b"hello"[..]), ("b/c", &[7u8; 1000][..])] {
            let h = Header {
                path: name.into(),
                size: body.len() as u64,
                mode: 0o600,
                dir: false,
                mtime: 0,
            };
            archive.extend_from_slice(&header(&h).unwrap());
            archive.extend_from_slice(body);
            archive.extend(std::iter::repeat_n(0, padding(body.len() as u64)));
        }
        archive.extend_from_slice(&[0; 1024]);
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut u = Unpacker::new(|e| {
            match e {
                Event::File(h) => files.push((h.path.clone(), Vec::new())),
                Event::Data(d) => files.last_mut().unwrap().1.extend_from_slice(d),
                _ => {}
            }
            Ok(())
        });
        for piece in archive.chunks(77) {
            u.push(piece).unwrap();
        }
        assert!(u.finished);
        drop(u);
        assert_eq!(files[0], ("a".into(), b"hello".to_vec()));
        assert_eq!(files[1], ("b/c".into(), vec![7u8; 1000]));
    }
}
