//! `global/pg_control` (PostgreSQL's `ControlFileData`): the cluster's
//! identity and its last known state, which the startup process reads to
//! decide whether recovery is needed. One 8 KiB file, CRC-32C protected,
//! rewritten atomically (temp file, fsync, rename).
//!
//! The storage issue extends it with checkpoint locations; the fields here
//! keep their offsets.

use std::io::Write;
use std::path::Path;

pub const PG_CONTROL_VERSION: u32 = 1300;
const CONTROL_FILE_SIZE: usize = 8192;

/// `DBState`, with PostgreSQL's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DbState {
    Startup = 0,
    Shutdowned = 1,
    ShutdownedInRecovery = 2,
    Shutdowning = 3,
    InCrashRecovery = 4,
    InArchiveRecovery = 5,
    InProduction = 6,
}

impl DbState {
    fn from_u32(v: u32) -> Option<DbState> {
        Some(match v {
            0 => DbState::Startup,
            1 => DbState::Shutdowned,
            2 => DbState::ShutdownedInRecovery,
            3 => DbState::Shutdowning,
            4 => DbState::InCrashRecovery,
            5 => DbState::InArchiveRecovery,
            6 => DbState::InProduction,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ControlFile {
    pub system_identifier: u64,
    pub state: DbState,
    /// Unix seconds of the last update.
    pub time_s: i64,
}

impl ControlFile {
    fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(CONTROL_FILE_SIZE);
        buf.extend_from_slice(&self.system_identifier.to_le_bytes());
        buf.extend_from_slice(&PG_CONTROL_VERSION.to_le_bytes());
        buf.extend_from_slice(&(self.state as u32).to_le_bytes());
        buf.extend_from_slice(&self.time_s.to_le_bytes());
        let crc = crc32c::crc32c(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        buf.resize(CONTROL_FILE_SIZE, 0);
        buf
    }

    pub fn read(data_dir: &Path) -> std::io::Result<ControlFile> {
        let bytes = std::fs::read(data_dir.join("global/pg_control"))?;
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        if bytes.len() < 28 {
            return Err(bad("pg_control is too short"));
        }
        let crc = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes"));
        if crc32c::crc32c(&bytes[..24]) != crc {
            return Err(bad("incorrect checksum in control file"));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != PG_CONTROL_VERSION {
            return Err(bad("control file version mismatch"));
        }
        Ok(ControlFile {
            system_identifier: u64::from_le_bytes(bytes[0..8].try_into().expect("8 bytes")),
            state: DbState::from_u32(u32::from_le_bytes(
                bytes[12..16].try_into().expect("4 bytes"),
            ))
            .ok_or_else(|| bad("invalid state in control file"))?,
            time_s: i64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")),
        })
    }

    pub fn write(&self, data_dir: &Path) -> std::io::Result<()> {
        let path = data_dir.join("global/pg_control");
        let tmp = data_dir.join("global/pg_control.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&self.encode())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(data_dir.join("global"))?.sync_all()
    }

    /// Updates the state and time, keeping the identity.
    pub fn update_state(data_dir: &Path, state: DbState) -> std::io::Result<ControlFile> {
        let mut cf = ControlFile::read(data_dir)?;
        cf.state = state;
        cf.time_s = crate::utils::time::now_unix().0;
        cf.write(data_dir)?;
        Ok(cf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_file_round_trips_and_detects_corruption() {
        let dir = std::env::temp_dir().join(format!("fg-control-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("global")).unwrap();
        let cf = ControlFile {
            system_identifier: 42,
            state: DbState::Shutdowned,
            time_s: 7,
        };
        cf.write(&dir).unwrap();
        assert_eq!(ControlFile::read(&dir).unwrap(), cf);
        let mut bytes = std::fs::read(dir.join("global/pg_control")).unwrap();
        bytes[0] ^= 1;
        std::fs::write(dir.join("global/pg_control"), bytes).unwrap();
        assert!(ControlFile::read(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
