//! `inet` and `cidr` (PostgreSQL's `utils/adt/network.c` and
//! `port/inet_net_pton.c`): the value representation, text input and output,
//! the binary wire form and btree order.
//!
//! Representation: an [`Inet`] holds the family (IPv4 or IPv6), the netmask
//! length `bits` and the address as 16 bytes, of which only the first 4 are
//! used for IPv4 (the rest stay zero, so derived equality is value equality).
//! `inet` and `cidr` share the representation; they differ in input rules and
//! output, so the type is carried by the caller, not by the value.
//!
//! Invariants:
//! - `bits <= max_bits()` (32 or 128).
//! - For a `cidr`, no bit right of the mask is set ([`Inet::host_bits_clear`]);
//!   input rejects such values with `invalid cidr value` and the DETAIL
//!   `Value has bits set to right of mask.`.
//!
//! Order ([`Inet::cmp_network`], `network_cmp`): family first (IPv4 before
//! IPv6), then the network part over the shorter mask, then the mask length,
//! then the whole address.
//!
//! Not wired into the type system yet: `Type::Inet` values are still
//! `Datum::Text`; see the issue-7 report for the plan.

use std::cmp::Ordering;

use crate::utils::elog::{PgError, PgResult, sqlstate};

/// `PGSQL_AF_INET` / `PGSQL_AF_INET6`, the family codes of the binary form.
pub const PGSQL_AF_INET: u8 = 2;
pub const PGSQL_AF_INET6: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inet {
    pub ipv6: bool,
    pub bits: u8,
    pub addr: [u8; 16],
}

fn invalid(type_name: &str, input: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {type_name}: \"{input}\""),
    )
}

impl Inet {
    pub fn max_bits(&self) -> u8 {
        if self.ipv6 { 128 } else { 32 }
    }

    fn len(&self) -> usize {
        if self.ipv6 { 16 } else { 4 }
    }

    pub fn family_code(&self) -> u8 {
        if self.ipv6 {
            PGSQL_AF_INET6
        } else {
            PGSQL_AF_INET
        }
    }

    /// True when every bit right of the netmask is zero (`addressOK`).
    pub fn host_bits_clear(&self) -> bool {
        (self.bits as usize..self.len() * 8).all(|i| self.addr[i / 8] & (0x80 >> (i % 8)) == 0)
    }

    /// `network_in`: `is_cidr` selects the cidr rules (abbreviated IPv4
    /// networks, classful default masks, no host bits).
    pub fn parse(input: &str, is_cidr: bool) -> PgResult<Inet> {
        let type_name = if is_cidr { "cidr" } else { "inet" };
        let s = input.trim_matches(|c: char| c.is_ascii_whitespace());
        let (addr, mask) = match s.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (s, None),
        };
        let ipv6 = addr.contains(':');
        let mut v = Inet {
            ipv6,
            bits: 0,
            addr: [0; 16],
        };
        let max = v.max_bits();
        let explicit = match mask {
            Some(m) => {
                if m.is_empty() || m.len() > 3 || !m.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(type_name, input));
                }
                let b: u32 = m.parse().map_err(|_| invalid(type_name, input))?;
                if b > max as u32 {
                    return Err(invalid(type_name, input));
                }
                Some(b as u8)
            }
            None => None,
        };
        if ipv6 {
            let ip: std::net::Ipv6Addr = addr.parse().map_err(|_| invalid(type_name, input))?;
            v.addr = ip.octets();
            v.bits = explicit.unwrap_or(128);
        } else if is_cidr {
            // inet_cidr_pton_ipv4: one to four dotted decimal octets.
            let parts: Vec<&str> = addr.split('.').collect();
            if parts.len() > 4 {
                return Err(invalid(type_name, input));
            }
            for (i, p) in parts.iter().enumerate() {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(type_name, input));
                }
                let o: u32 = p.parse().map_err(|_| invalid(type_name, input))?;
                if o > 255 {
                    return Err(invalid(type_name, input));
                }
                v.addr[i] = o as u8;
            }
            let octets = parts.len() as u8;
            v.bits = match explicit {
                Some(b) => b,
                None => {
                    let first = v.addr[0];
                    let mut bits = match first {
                        240.. => 32,
                        224.. => 8,
                        192.. => 24,
                        128.. => 16,
                        _ => 8,
                    };
                    if bits < octets * 8 {
                        bits = octets * 8;
                    }
                    if bits == 8 && first == 224 {
                        bits = 4;
                    }
                    bits
                }
            };
        } else {
            let ip: std::net::Ipv4Addr = addr.parse().map_err(|_| invalid(type_name, input))?;
            v.addr[..4].copy_from_slice(&ip.octets());
            v.bits = explicit.unwrap_or(32);
        }
        if is_cidr && !v.host_bits_clear() {
            return Err(PgError::error(
                sqlstate::INVALID_TEXT_REPRESENTATION,
                format!("invalid cidr value: \"{input}\""),
            )
            .with_detail("Value has bits set to right of mask."));
        }
        Ok(v)
    }

    fn addr_text(&self) -> String {
        if self.ipv6 {
            std::net::Ipv6Addr::from(self.addr).to_string()
        } else {
            std::net::Ipv4Addr::new(self.addr[0], self.addr[1], self.addr[2], self.addr[3])
                .to_string()
        }
    }

    /// `inet_out` / `cidr_out`: an inet drops a full-length mask, a cidr
    /// always shows it.
    pub fn to_text(&self, is_cidr: bool) -> String {
        if !is_cidr && self.bits == self.max_bits() {
            self.addr_text()
        } else {
            format!("{}/{}", self.addr_text(), self.bits)
        }
    }

    /// `inet_send`: family, bits, is_cidr, address length, address bytes.
    pub fn to_binary(&self, is_cidr: bool) -> Vec<u8> {
        let mut out = vec![
            self.family_code(),
            self.bits,
            is_cidr as u8,
            self.len() as u8,
        ];
        out.extend_from_slice(&self.addr[..self.len()]);
        out
    }

    /// `inet_recv` / `cidr_recv`, with PostgreSQL's checks.
    pub fn from_binary(buf: &[u8], is_cidr: bool) -> PgResult<Inet> {
        let type_name = if is_cidr { "cidr" } else { "inet" };
        let bad = |what: &str| {
            PgError::error(
                "22P03",
                format!("invalid {what} in external \"{type_name}\" value"),
            )
        };
        if buf.len() < 4 {
            return Err(bad("length"));
        }
        let ipv6 = match buf[0] {
            PGSQL_AF_INET => false,
            PGSQL_AF_INET6 => true,
            _ => return Err(bad("address family")),
        };
        let mut v = Inet {
            ipv6,
            bits: buf[1],
            addr: [0; 16],
        };
        if v.bits > v.max_bits() {
            return Err(bad("bits"));
        }
        if buf[3] as usize != v.len() || buf.len() != 4 + v.len() {
            return Err(bad("length"));
        }
        let n = v.len();
        v.addr[..n].copy_from_slice(&buf[4..]);
        if is_cidr && !v.host_bits_clear() {
            return Err(PgError::error("22P03", "invalid external \"cidr\" value")
                .with_detail("Value has bits set to right of mask."));
        }
        Ok(v)
    }

    /// Compares the first `bits` bits of two addresses (`bitncmp`).
    fn bitncmp(a: &[u8], b: &[u8], bits: usize) -> Ordering {
        let bytes = bits / 8;
        match a[..bytes].cmp(&b[..bytes]) {
            Ordering::Equal => {}
            o => return o,
        }
        let rest = bits % 8;
        if rest == 0 {
            return Ordering::Equal;
        }
        let m = 0xffu8 << (8 - rest);
        (a[bytes] & m).cmp(&(b[bytes] & m))
    }

    /// `network_cmp`: family, network over the shorter mask, mask length,
    /// then the whole address.
    pub fn cmp_network(&self, other: &Inet) -> Ordering {
        self.ipv6
            .cmp(&other.ipv6)
            .then_with(|| {
                let bits = self.bits.min(other.bits) as usize;
                Self::bitncmp(&self.addr, &other.addr, bits)
            })
            .then_with(|| self.bits.cmp(&other.bits))
            .then_with(|| Self::bitncmp(&self.addr, &other.addr, self.max_bits() as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(s: &str, cidr: bool) -> String {
        match Inet::parse(s, cidr) {
            Ok(v) => v.to_text(cidr),
            Err(e) => e.message.clone(),
        }
    }

    #[test]
    fn input_and_output_as_postgres() {
        assert_eq!(out("192.168.1.5", false), "192.168.1.5");
        assert_eq!(out("192.168.1.5/24", false), "192.168.1.5/24");
        assert_eq!(out("10/8", true), "10.0.0.0/8");
        assert_eq!(out("192.168", true), "192.168.0.0/24");
        assert_eq!(out("128", true), "128.0.0.0/16");
        assert_eq!(out("224", true), "224.0.0.0/4");
        assert_eq!(out("::1", false), "::1");
        assert_eq!(out("2001:db8::/32", true), "2001:db8::/32");
        assert_eq!(
            out("1.2.3.4/33", false),
            "invalid input syntax for type inet: \"1.2.3.4/33\""
        );
        assert_eq!(
            out("192.168.1.5/24", true),
            "invalid cidr value: \"192.168.1.5/24\""
        );
    }

    #[test]
    fn binary_round_trip() {
        for (s, c) in [("1.2.3.4/8", false), ("10.0.0.0/8", true), ("::1", false)] {
            let v = Inet::parse(s, c).unwrap();
            assert_eq!(Inet::from_binary(&v.to_binary(c), c).unwrap(), v);
        }
        assert!(Inet::from_binary(&[9, 0, 0, 4, 1, 2, 3, 4], false).is_err());
    }

    #[test]
    fn order_is_family_network_mask() {
        let p = |s| Inet::parse(s, false).unwrap();
        assert_eq!(p("10.0.0.1").cmp_network(&p("::1")), Ordering::Less);
        assert_eq!(
            p("10.0.0.0/8").cmp_network(&p("10.0.0.0/16")),
            Ordering::Less
        );
        assert_eq!(
            p("10.0.0.5/8").cmp_network(&p("10.0.0.1/16")),
            Ordering::Less
        );
        assert_eq!(p("10.0.0.2").cmp_network(&p("10.0.0.1")), Ordering::Greater);
    }
}
