//! `global/pg_control` (PostgreSQL's `ControlFileData`): the cluster's
//! identity and its last known state, which the startup process reads to
//! decide whether recovery is needed. One 8 KiB file, CRC-32C protected.
//!
//! # Writing it (PostgreSQL's `update_controlfile`)
//! initdb creates the file ([`ControlFile::create`]). After that it is only
//! ever rewritten in place ([`ControlFile::write`]): one `write` of the whole
//! 8 KiB at offset 0, then `fsync`. The blocks already belong to the file, so
//! a full file system cannot refuse the write (a temporary file and a rename
//! would need new blocks, and fail exactly when the disk is full, which is
//! when a checkpoint or a crash recovery most needs to record its progress).
//! The fields fit in the first 512 bytes, one disk sector, which storage
//! writes whole or not at all; the CRC catches a write torn anyway, and a
//! control file that fails its CRC stops the server (PostgreSQL's
//! `PG_CONTROL_MAX_SAFE_SIZE` argument). Every failure carries
//! PostgreSQL's message with the file name and `%m`; callers that cannot go
//! on without the update (the checkpointer, the startup process) PANIC.
//!
//! Layout (little-endian): system_identifier u64 @0, pg_control_version u32
//! @8, state u32 @12, time i64 @16, crc u32 @24, then the checkpoint fields
//! from @28 (see `encode`). The CRC-32C covers every byte before and after
//! the crc field up to the last field; the file is padded to 8 KiB with zeros.
//! Fields never move: new ones are appended. `catalog_version_no` was the
//! first appended: a file written before it has a CRC over the shorter
//! layout, and reads as catalog version 0, which the startup process
//! refuses as PostgreSQL refuses a cluster of another catalog version.
//! The version field is checked before the CRC, as PostgreSQL's
//! `ReadControlFile` does, so a file of another layout is reported as
//! such rather than as corrupt.

use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use crate::storage::types::{BLCKSZ, Lsn, WAL_SEGMENT_SIZE};
use crate::storage::wal::CheckPoint;
use crate::utils::elog::{self, PgError, PgResult};

/// PostgreSQL's `XLOG_CONTROL_FILE`, relative to the data directory.
pub const CONTROL_FILE_PATH: &str = "global/pg_control";

pub const PG_CONTROL_VERSION: u32 = 1300;
const CONTROL_FILE_SIZE: usize = 8192;
/// Offset of the crc field.
const CRC_OFFSET: usize = 24;
/// Bytes of fields (crc included); the rest of the file is zero padding.
const ENCODED_SIZE: usize = ENCODED_SIZE_V1 + 4;
/// The layout before `catalog_version_no` was appended.
const ENCODED_SIZE_V1: usize = 28 + 8 + CheckPoint::ENCODED_SIZE + 8 + 4 * 5;
/// PostgreSQL's `PG_CONTROL_MAX_SAFE_SIZE`: the fields fit in one sector.
const _: () = assert!(ENCODED_SIZE <= 512);
const _: () = assert!(CONTROL_FILE_SIZE == BLCKSZ);

/// `DBState`, with PostgreSQL's numbering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u32)]
pub enum DbState {
    #[default]
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

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControlFile {
    pub system_identifier: u64,
    pub state: DbState,
    /// Unix seconds of the last update.
    pub time_s: i64,
    /// LSN of the last checkpoint record (PostgreSQL's `checkPoint`).
    pub checkpoint: Lsn,
    /// That record's contents (PostgreSQL's `checkPointCopy`).
    pub checkpoint_copy: CheckPoint,
    /// Recovery must reach this LSN before the data is consistent (0: none).
    pub min_recovery_point: Lsn,
    pub min_recovery_point_tli: u32,
    /// Sizes the cluster was created with (checked at start; 0 in a file
    /// written before they were set means the defaults).
    pub wal_segment_size: u32,
    pub xlog_blcksz: u32,
    pub blcksz: u32,
    /// 0: data page checksums off (PostgreSQL's `data_checksum_version`).
    pub data_checksum_version: u32,
    /// PostgreSQL's `catalog_version_no`: the catalog layout initdb wrote
    /// (`catalog::CATALOG_VERSION_NO`); 0 in a file older than the field.
    pub catalog_version_no: u32,
}

impl ControlFile {
    /// A control file for a new cluster with the build's sizes.
    pub fn new(system_identifier: u64, state: DbState, time_s: i64) -> ControlFile {
        ControlFile {
            system_identifier,
            state,
            time_s,
            wal_segment_size: WAL_SEGMENT_SIZE as u32,
            xlog_blcksz: BLCKSZ as u32,
            blcksz: BLCKSZ as u32,
            ..ControlFile::default()
        }
    }

    /// `pg_control_checkpoint().redo_wal_file`.
    pub fn redo_wal_file(&self) -> String {
        crate::storage::wal::segment_name(self.checkpoint_copy.redo)
    }

    fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(CONTROL_FILE_SIZE);
        buf.extend_from_slice(&self.system_identifier.to_le_bytes());
        buf.extend_from_slice(&PG_CONTROL_VERSION.to_le_bytes());
        buf.extend_from_slice(&(self.state as u32).to_le_bytes());
        buf.extend_from_slice(&self.time_s.to_le_bytes());
        buf.extend_from_slice(&[0; 4]); // crc, below
        buf.extend_from_slice(&self.checkpoint.0.to_le_bytes());
        buf.extend_from_slice(&self.checkpoint_copy.encode());
        buf.extend_from_slice(&self.min_recovery_point.0.to_le_bytes());
        buf.extend_from_slice(&self.min_recovery_point_tli.to_le_bytes());
        buf.extend_from_slice(&self.wal_segment_size.to_le_bytes());
        buf.extend_from_slice(&self.xlog_blcksz.to_le_bytes());
        buf.extend_from_slice(&self.blcksz.to_le_bytes());
        buf.extend_from_slice(&self.data_checksum_version.to_le_bytes());
        buf.extend_from_slice(&self.catalog_version_no.to_le_bytes());
        assert_eq!(buf.len(), ENCODED_SIZE);
        let crc = control_crc(&buf);
        buf[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
        buf.resize(CONTROL_FILE_SIZE, 0);
        buf
    }

    pub fn read(data_dir: &Path) -> std::io::Result<ControlFile> {
        let bytes = std::fs::read(data_dir.join("global/pg_control"))?;
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        if bytes.len() < ENCODED_SIZE {
            return Err(bad("pg_control is too short"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
        if u32_at(8) != PG_CONTROL_VERSION {
            return Err(bad(&format!(
                "database files are incompatible with server: the database cluster was \
                 initialized with PG_CONTROL_VERSION {}, but the server was compiled with \
                 PG_CONTROL_VERSION {PG_CONTROL_VERSION}",
                u32_at(8)
            )));
        }
        let crc = u32_at(CRC_OFFSET);
        let catalog_version_no = if control_crc(&bytes[..ENCODED_SIZE]) == crc {
            u32_at(ENCODED_SIZE_V1)
        } else if control_crc(&bytes[..ENCODED_SIZE_V1]) == crc {
            0
        } else {
            return Err(bad("incorrect checksum in control file"));
        };
        let cp_end = 36 + CheckPoint::ENCODED_SIZE;
        let checkpoint_copy = CheckPoint::decode(&bytes[36..cp_end])
            .ok_or_else(|| bad("invalid checkpoint in control file"))?;
        Ok(ControlFile {
            system_identifier: u64_at(0),
            state: DbState::from_u32(u32_at(12))
                .ok_or_else(|| bad("invalid state in control file"))?,
            time_s: u64_at(16) as i64,
            checkpoint: Lsn(u64_at(28)),
            checkpoint_copy,
            min_recovery_point: Lsn(u64_at(cp_end)),
            min_recovery_point_tli: u32_at(cp_end + 8),
            wal_segment_size: u32_at(cp_end + 12),
            xlog_blcksz: u32_at(cp_end + 16),
            blcksz: u32_at(cp_end + 20),
            data_checksum_version: u32_at(cp_end + 24),
            catalog_version_no,
        })
    }

    /// Rewrites `global/pg_control` in place (PostgreSQL's
    /// `update_controlfile`): one 8 KiB write at offset 0, then fsync. The
    /// file must exist (initdb made it with [`ControlFile::create`]).
    pub fn write(&self, data_dir: &Path) -> PgResult<()> {
        let path = data_dir.join(CONTROL_FILE_PATH);
        let shown = path.display();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| elog::file_error(&e, format_args!("could not open file \"{shown}\"")))?;
        write_whole(&f, &self.encode())
            .map_err(|e| elog::file_error(&e, format_args!("could not write file \"{shown}\"")))?;
        f.sync_all()
            .map_err(|e| elog::file_error(&e, format_args!("could not fsync file \"{shown}\"")))
    }

    /// initdb: creates `global/pg_control` (PostgreSQL's
    /// `WriteControlFile`), which must not exist yet, and makes it and its
    /// directory entry durable.
    pub fn create(&self, data_dir: &Path) -> PgResult<()> {
        let path = data_dir.join(CONTROL_FILE_PATH);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| {
                elog::file_error(
                    &e,
                    format_args!("could not create file \"{CONTROL_FILE_PATH}\""),
                )
            })?;
        write_whole(&f, &self.encode()).map_err(|e| {
            elog::file_error(
                &e,
                format_args!("could not write to file \"{CONTROL_FILE_PATH}\""),
            )
        })?;
        f.sync_all().map_err(|e| {
            elog::file_error(
                &e,
                format_args!("could not fsync file \"{CONTROL_FILE_PATH}\""),
            )
        })?;
        let dir = data_dir.join("global");
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| elog::file_error(&e, format_args!("could not fsync file \"global\"")))
    }

    /// Updates the state and time, keeping the identity.
    pub fn update_state(data_dir: &Path, state: DbState) -> PgResult<ControlFile> {
        let mut cf = ControlFile::read(data_dir).map_err(|e| read_error(&e))?;
        cf.state = state;
        cf.time_s = crate::utils::time::now_unix().0;
        cf.write(data_dir)?;
        Ok(cf)
    }
}

/// A [`ControlFile::read`] failure as PostgreSQL words it: an OS error is
/// `could not open file "global/pg_control": %m`; a bad file keeps its
/// reason (`incorrect checksum in control file`).
pub fn read_error(e: &std::io::Error) -> PgError {
    if e.raw_os_error().is_some() {
        elog::file_error(
            e,
            format_args!("could not open file \"{CONTROL_FILE_PATH}\""),
        )
    } else {
        PgError::error(crate::utils::elog::sqlstate::DATA_CORRUPTED, e.to_string())
    }
}

/// One `pwrite` of all of `buf` at offset 0, as PostgreSQL's single
/// `write()`: a short write that set no errno counts as ENOSPC.
fn write_whole(f: &std::fs::File, buf: &[u8]) -> std::io::Result<()> {
    loop {
        match f.write_at(buf, 0) {
            Ok(n) if n == buf.len() => return Ok(()),
            Ok(_) => return Err(elog::short_write()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// CRC-32C of the encoded fields with the crc field taken as zero.
fn control_crc(fields: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&fields[..CRC_OFFSET]);
    let crc = crc32c::crc32c_append(crc, &[0; 4]);
    crc32c::crc32c_append(crc, &fields[CRC_OFFSET + 4..])
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
            ..ControlFile::default()
        };
        cf.create(&dir).unwrap();
        assert_eq!(ControlFile::read(&dir).unwrap(), cf);
        let mut bytes = std::fs::read(dir.join("global/pg_control")).unwrap();
        bytes[0] ^= 1;
        std::fs::write(dir.join("global/pg_control"), bytes).unwrap();
        assert!(ControlFile::read(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn checkpoint_fields_round_trip_and_keep_the_original_offsets() {
        let dir = std::env::temp_dir().join(format!("fg-control-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("global")).unwrap();
        let mut cf = ControlFile::new(0x1234_5678_9abc_def0, DbState::InProduction, 1_700_000_000);
        cf.checkpoint = Lsn(0x1_0000_0028);
        cf.checkpoint_copy = CheckPoint {
            redo: Lsn(0x1_0000_0028),
            timeline: 1,
            prev_timeline: 1,
            full_page_writes: true,
            next_xid: crate::storage::types::Xid(745),
            next_oid: 24576,
            next_multi: 1,
            next_multi_offset: 0,
            oldest_xid: crate::storage::types::Xid(3),
            oldest_xid_db: 1,
            oldest_multi: 1,
            oldest_multi_db: 1,
            oldest_active_xid: crate::storage::types::Xid(745),
            time: 1_700_000_000,
        };
        cf.min_recovery_point = Lsn(77);
        cf.create(&dir).unwrap();
        let back = ControlFile::read(&dir).unwrap();
        assert_eq!(back, cf);
        assert_eq!(back.redo_wal_file(), "000000010000000100000000");
        assert_eq!(back.wal_segment_size, 16 * 1024 * 1024);
        // The original fields are where they always were.
        let bytes = std::fs::read(dir.join("global/pg_control")).unwrap();
        assert_eq!(bytes.len(), 8192);
        assert_eq!(
            u64::from_le_bytes(bytes[0..8].try_into().unwrap()),
            0x1234_5678_9abc_def0
        );
        assert_eq!(
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
            PG_CONTROL_VERSION
        );
        assert_eq!(
            u32::from_le_bytes(bytes[12..16].try_into().unwrap()),
            DbState::InProduction as u32
        );
        assert_eq!(
            i64::from_le_bytes(bytes[16..24].try_into().unwrap()),
            1_700_000_000
        );
        // A flipped bit in the checkpoint part is caught by the CRC too.
        let mut corrupt = bytes.clone();
        corrupt[40] ^= 0x10;
        std::fs::write(dir.join("global/pg_control"), corrupt).unwrap();
        assert!(ControlFile::read(&dir).is_err());
        // update_state keeps the checkpoint fields.
        std::fs::write(dir.join("global/pg_control"), bytes).unwrap();
        let updated = ControlFile::update_state(&dir, DbState::Shutdowned).unwrap();
        assert_eq!(updated.checkpoint, cf.checkpoint);
        assert_eq!(
            ControlFile::read(&dir).unwrap().checkpoint_copy,
            cf.checkpoint_copy
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn control_file_is_rewritten_in_place_and_never_created_by_an_update() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("fg-control-inplace-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("global")).unwrap();
        let mut cf = ControlFile::new(7, DbState::InProduction, 1);
        // An update never creates the file: initdb does.
        let e = cf.write(&dir).unwrap_err();
        assert_eq!(e.sqlstate, "58P01");
        assert!(
            e.message.starts_with("could not open file \"")
                && e.message
                    .ends_with("global/pg_control\": No such file or directory"),
            "{}",
            e.message
        );
        cf.create(&dir).unwrap();
        let e = cf.create(&dir).unwrap_err();
        assert_eq!(e.sqlstate, "58P02", "{}", e.message);
        let path = dir.join(CONTROL_FILE_PATH);
        let inode = std::fs::metadata(&path).unwrap().ino();
        cf.state = DbState::Shutdowned;
        cf.write(&dir).unwrap();
        // Same file, same size: the update needed no new blocks.
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.ino(), inode);
        assert_eq!(meta.len(), 8192);
        assert_eq!(ControlFile::read(&dir).unwrap().state, DbState::Shutdowned);
        assert!(!dir.join("global/pg_control.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_from_before_the_catalog_version_field_reads_as_version_0() {
        let dir = std::env::temp_dir().join(format!("fg-control-v1-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("global")).unwrap();
        let mut cf = ControlFile::new(9, DbState::Shutdowned, 1);
        cf.catalog_version_no = 77;
        let mut bytes = cf.encode();
        // The older layout: no field, CRC over the shorter run of bytes.
        bytes[ENCODED_SIZE_V1..ENCODED_SIZE].fill(0);
        let crc = control_crc(&bytes[..ENCODED_SIZE_V1]);
        bytes[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(dir.join(CONTROL_FILE_PATH), &bytes).unwrap();
        let back = ControlFile::read(&dir).unwrap();
        assert_eq!(back.catalog_version_no, 0);
        assert_eq!(back.system_identifier, 9);
        // And a file of another pg_control layout says so before any CRC.
        bytes[8..12].copy_from_slice(&1201u32.to_le_bytes());
        std::fs::write(dir.join(CONTROL_FILE_PATH), &bytes).unwrap();
        let e = ControlFile::read(&dir).unwrap_err().to_string();
        assert!(e.contains("PG_CONTROL_VERSION 1201"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
