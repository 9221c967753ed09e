//! WAL tests. Each uses its own directory and its own WAL region (never the
//! server's global segment: tests run in threads of one process), with
//! small segments so that crossing pages and segments is cheap.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::file::{self, SIZE_OF_LONG_PHD, SIZE_OF_SHORT_PHD};
use super::*;
use crate::storage::types::{BufferTag, ForkNumber, RelFileLocator};

/// 8 pages per segment.
const SEG: u64 = 64 * 1024;
const SYSID: u64 = 0x5eed_0000_0000_0001;

fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fg-wal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("pg_wal/archive_status")).unwrap();
    dir
}

/// A WAL region in a fresh MAP_SHARED mapping, so forked children share it.
fn shared_wal(dir: &Path, n_buffers: usize) -> Wal {
    let size = Wal::region_size(n_buffers);
    // SAFETY: a fresh anonymous shared mapping (zeroed), never unmapped.
    let ptr = unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            size,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
        )
    }
    .unwrap() as *mut u8;
    // SAFETY: zeroed, page-aligned, `size` bytes, used only by this test.
    unsafe {
        Wal::init_region(
            ptr,
            WalConfig {
                n_buffers,
                seg_size: SEG,
                fsync: true,
                full_page_writes: true,
                archive_mode: false,
            },
        );
        Wal::attach(ptr, dir)
    }
}

/// A fresh WAL starting in segment 1.
fn started_wal(dir: &Path, n_buffers: usize) -> Wal {
    let wal = shared_wal(dir, n_buffers);
    wal.init_insert_position(Lsn(SEG), Lsn::INVALID, SYSID)
        .unwrap();
    wal
}

fn reader(dir: &Path, start: Lsn) -> WalReader {
    let mut r = WalReader::with_segment_size(dir, start, SEG);
    r.expect_system_identifier(SYSID);
    r
}

/// Deterministic bytes.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn tag(rel: u32, block: u32) -> BufferTag {
    BufferTag {
        rel: RelFileLocator {
            spc_oid: 1663,
            db_oid: 5,
            rel_number: rel,
        },
        fork: ForkNumber::Main,
        block,
    }
}

/// A page with a PostgreSQL-like header whose hole [lower, upper) is zero.
fn page_with_hole(seed: u64, lower: u16, upper: u16) -> Box<[u8; BLCKSZ]> {
    let mut p = Box::new([0u8; BLCKSZ]);
    p.copy_from_slice(&bytes(seed, BLCKSZ));
    p[12..14].copy_from_slice(&lower.to_le_bytes());
    p[14..16].copy_from_slice(&upper.to_le_bytes());
    p[lower as usize..upper as usize].fill(0);
    p
}

/// Runs `f` in a forked child; returns its pid. The child exits 0 if `f`
/// returns, 1 if it panics.
fn fork_child(f: impl FnOnce()) -> nix::unistd::Pid {
    // SAFETY: the child only runs `f` and then _exits, never returning into the harness.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
            // SAFETY: leave the forked test child without running the harness.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    }
}

fn wait_ok(pid: nix::unistd::Pid) {
    let status = nix::sys::wait::waitpid(pid, None).unwrap();
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(pid, 0),
        "child failed"
    );
}

/// A page of MAP_SHARED memory for counters between forked processes.
fn shared_counters() -> &'static [AtomicU32; 16] {
    // SAFETY: a fresh zeroed shared mapping, never unmapped; zero is a valid AtomicU32.
    unsafe {
        let p = rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            4096,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
        )
        .unwrap();
        &*(p as *const [AtomicU32; 16])
    }
}

#[test]
fn segment_names_match_postgresql() {
    // The file holding a byte (XLByteToSeg + XLogFileName): what pg_wal/
    // holds and pg_control_checkpoint().redo_wal_file shows.
    assert_eq!(segment_name(Lsn(0x100_0000)), "000000010000000000000001");
    assert_eq!(segment_name(Lsn(0x1FF_FFFF)), "000000010000000000000001");
    assert_eq!(
        segment_name(Lsn(0x16_B374_D848)),
        "0000000100000016000000B3"
    );
    assert_eq!(segment_name(Lsn(0x1_0000_0000)), "000000010000000100000000");
    assert_eq!(
        file::parse_segment_name("0000000100000016000000B3", WAL_SEGMENT_SIZE),
        Some((1, 0x16B3))
    );
    assert_eq!(
        file::parse_segment_name("00000001000000160000100", WAL_SEGMENT_SIZE),
        None
    );
    assert_eq!(
        file::parse_segment_name("000000010000001600000100", WAL_SEGMENT_SIZE),
        None
    );
    // What PostgreSQL 15 answers (checked against a real server):
    // SELECT pg_walfile_name('0/1000000'), pg_walfile_name('0/1000001'),
    //        pg_walfile_name('16/B374D848'), pg_walfile_name_offset('0/1000000');
    // 000000010000000000000000 | 000000010000000000000001 | 0000000100000016000000B3 | (000000010000000000000000,0)
    assert_eq!(walfile_name(Lsn(0x100_0000)), "000000010000000000000000");
    assert_eq!(walfile_name(Lsn(0x100_0001)), "000000010000000000000001");
    assert_eq!(
        walfile_name(Lsn(0x16_B374_D848)),
        "0000000100000016000000B3"
    );
    assert_eq!(
        walfile_name_offset(Lsn(0x100_0000)),
        ("000000010000000000000000".to_string(), 0)
    );
    assert_eq!(walfile_name(Lsn(0)), "00000001FFFFFFFF000000FF");
    assert_eq!(
        walfile_name_offset(Lsn(0x16_B374_D848)),
        ("0000000100000016000000B3".to_string(), 0x74_D848)
    );
    // Small segments: 65536 segments per xlogid.
    assert_eq!(
        file::segment_file_name(1, 0x1_0002, SEG),
        "000000010000000100000002"
    );
}

#[test]
fn records_of_every_size_round_trip_across_pages_and_segments() {
    let dir = test_dir("sizes");
    // Four buffer pages for eight-page segments: the ring fills constantly.
    let wal = started_wal(&dir, 4);
    let mut sizes: Vec<usize> = (0..70).collect();
    sizes.extend([
        100, 255, 256, 257, 1000, 8000, 8100, 8150, 8164, 8192, 8200, 16384, 30000, 70_000, 200_000,
    ]);
    let hole_page = page_with_hole(7, 200, 7000);
    let full_page = Box::new(<[u8; BLCKSZ]>::try_from(bytes(8, BLCKSZ).as_slice()).unwrap());
    let mut expected = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        let main = bytes(i as u64, len);
        let data = bytes(1000 + i as u64, i % 5 * 3);
        let blocks: Vec<BlockRef<'_>> = match i % 4 {
            0 => vec![],
            1 => vec![BlockRef {
                tag: tag(16384, i as u32),
                image: None,
                data: &data,
            }],
            2 => vec![
                BlockRef {
                    tag: tag(16384, 1),
                    image: Some(&hole_page),
                    data: &data,
                },
                BlockRef {
                    tag: tag(16384, 2),
                    image: Some(&full_page),
                    data: &[],
                },
                BlockRef {
                    tag: tag(16390, 0),
                    image: None,
                    data: &data,
                },
            ],
            _ => vec![BlockRef {
                tag: tag(16384, 9),
                image: Some(&full_page),
                data: &main[..len.min(10)],
            }],
        };
        let (start, end) = wal
            .insert_record(
                RmgrId::Heap,
                (i % 16) as u8 * 0x10,
                Xid(100 + i as u64),
                &main,
                &blocks,
                None,
            )
            .unwrap();
        assert_eq!(start.0 % 8, 0);
        assert_eq!(end.0 % 8, 0);
        assert!(end > start);
        let blocks: Vec<DecodedBlock> = blocks
            .iter()
            .map(|b| DecodedBlock {
                tag: b.tag,
                image: b.image.map(|p| Box::new(*p)),
                data: b.data.to_vec(),
            })
            .collect();
        expected.push((start, end, i, main, blocks));
    }
    let last_end = expected.last().unwrap().1;
    assert!(last_end.0 / SEG >= 4, "the records span several segments");
    wal.flush(last_end).unwrap();
    assert!(
        wal.stats().wal_buffers_full > 0,
        "the ring was full at times"
    );
    assert_eq!(wal.stats().wal_records, sizes.len() as u64);
    assert_eq!(
        wal.stats().wal_fpi,
        sizes
            .iter()
            .enumerate()
            .map(|(i, _)| match i % 4 {
                2 => 2,
                3 => 1,
                _ => 0,
            })
            .sum::<u64>()
    );

    let mut r = reader(&dir, expected[0].0);
    let mut prev = Lsn::INVALID;
    for (start, end, i, main, blocks) in &expected {
        let rec = r
            .next_record()
            .unwrap()
            .unwrap_or_else(|| panic!("record {i} missing: {:?}", r.end_reason()));
        assert_eq!(rec.lsn, *start, "record {i}");
        assert_eq!(rec.end_lsn, *end);
        assert_eq!(rec.prev, prev);
        assert_eq!(rec.xid, Xid(100 + *i as u64));
        assert_eq!(rec.rmgr, RmgrId::Heap);
        assert_eq!(rec.info, (*i % 16) as u8 * 0x10);
        assert_eq!(
            &rec.main_data,
            main,
            "main data of record {i} ({} bytes)",
            main.len()
        );
        assert_eq!(&rec.blocks, blocks, "blocks of record {i}");
        prev = rec.lsn;
    }
    assert!(r.next_record().unwrap().is_none());
    assert_eq!(r.end_of_wal(), last_end);
    assert_eq!(r.last_record(), prev);
    assert!(
        r.end_reason().unwrap().contains("invalid record length"),
        "{:?}",
        r.end_reason()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hole_is_not_logged_but_comes_back_as_zeros() {
    let hole = page_with_hole(3, 100, 8000);
    let a = record::assemble(
        RmgrId::Heap,
        0,
        Xid(5),
        &[],
        &[BlockRef {
            tag: tag(1, 1),
            image: Some(&hole),
            data: &[],
        }],
    );
    assert!(
        a.bytes.len() < 1000,
        "the 7900-byte hole was skipped: {} bytes",
        a.bytes.len()
    );
    // Bytes between pd_lower and pd_upper that are not zero are kept.
    let mut not_hole = page_with_hole(3, 100, 8000);
    not_hole[4000] = 1;
    let b = record::assemble(
        RmgrId::Heap,
        0,
        Xid(5),
        &[],
        &[BlockRef {
            tag: tag(1, 1),
            image: Some(&not_hole),
            data: &[],
        }],
    );
    assert!(b.bytes.len() > BLCKSZ);
    let mut bytes = b.bytes.clone();
    record::finish_header(&mut bytes, Lsn(0x100), b.body_crc);
    assert!(record::crc_ok(&bytes));
    let rec = record::decode(Lsn(0x200), Lsn(0x300), &bytes).unwrap();
    assert_eq!(rec.blocks[0].image.as_deref(), Some(&*not_hole));
}

#[test]
fn crc_corruption_stops_the_reader_at_the_last_good_record() {
    let dir = test_dir("crc");
    let wal = started_wal(&dir, 8);
    let mut lsns = Vec::new();
    for i in 0..5u64 {
        lsns.push(
            wal.insert_record(RmgrId::Xact, 0, Xid(i + 3), &bytes(i, 300), &[], None)
                .unwrap(),
        );
    }
    wal.flush(lsns[4].1).unwrap();
    // Flip one byte of record 2's main data on disk.
    let victim = lsns[2].0.0 + 100;
    let path = dir
        .join("pg_wal")
        .join(file::segment_file_name(1, victim / SEG, SEG));
    let mut seg = std::fs::read(&path).unwrap();
    seg[(victim % SEG) as usize] ^= 0x01;
    std::fs::write(&path, seg).unwrap();

    let mut r = reader(&dir, lsns[0].0);
    assert_eq!(r.next_record().unwrap().unwrap().lsn, lsns[0].0);
    assert_eq!(r.next_record().unwrap().unwrap().lsn, lsns[1].0);
    assert!(r.next_record().unwrap().is_none());
    let reason = r.end_reason().unwrap();
    assert_eq!(
        reason,
        format!(
            "incorrect resource manager data checksum in record at {}",
            lsns[2].0
        )
    );
    assert_eq!(r.end_of_wal(), lsns[1].1);
    assert_eq!(r.last_record(), lsns[1].0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_torn_tail_ends_wal_and_inserts_resume_there_keeping_the_partial_page() {
    let dir = test_dir("torn");
    let wal = started_wal(&dir, 8);
    let mut lsns = Vec::new();
    for i in 0..6u64 {
        // 5000 bytes: records start mid-page and cross page boundaries.
        lsns.push(
            wal.insert_record(RmgrId::Heap, 0, Xid(i + 3), &bytes(i, 5000), &[], None)
                .unwrap(),
        );
    }
    wal.flush(lsns[5].1).unwrap();
    // A crash tore the last record: its second half never reached disk.
    let (start, end) = lsns[5];
    let tear_from = start.0 + (end.0 - start.0) / 2;
    let path = dir
        .join("pg_wal")
        .join(file::segment_file_name(1, tear_from / SEG, SEG));
    let mut seg = std::fs::read(&path).unwrap();
    let from = (tear_from % SEG) as usize;
    let to = ((end.0 - 1) % SEG) as usize + 1;
    assert!(from < to, "the torn record lies in one segment");
    seg[from..to].fill(0);
    std::fs::write(&path, seg).unwrap();

    let mut r = reader(&dir, lsns[0].0);
    for (s, _) in &lsns[..5] {
        assert_eq!(r.next_record().unwrap().unwrap().lsn, *s);
    }
    assert!(
        r.next_record().unwrap().is_none(),
        "the torn record is not returned"
    );
    assert!(r.end_reason().is_some());
    let (end_of_wal, last) = (r.end_of_wal(), r.last_record());
    assert_eq!(end_of_wal, lsns[4].1);
    assert_ne!(
        end_of_wal.0 % BLCKSZ as u64,
        0,
        "the end of WAL is mid-page: the partial page must be re-read"
    );

    // Crash restart: a new region continues at the end of WAL.
    let wal2 = shared_wal(&dir, 8);
    wal2.init_insert_position(end_of_wal, last, SYSID).unwrap();
    assert_eq!(wal2.insert_lsn(), end_of_wal);
    let (s6, e6) = wal2
        .insert_record(RmgrId::Heap, 0, Xid(99), b"after the crash", &[], None)
        .unwrap();
    assert_eq!(s6, end_of_wal);
    wal2.flush(e6).unwrap();

    let mut r = reader(&dir, lsns[0].0);
    for (s, _) in &lsns[..5] {
        assert_eq!(
            r.next_record().unwrap().unwrap().lsn,
            *s,
            "records before the end survive the rewrite of their page"
        );
    }
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(
        (rec.lsn, rec.prev, rec.main_data.as_slice()),
        (s6, lsns[4].0, &b"after the crash"[..])
    );
    assert!(r.next_record().unwrap().is_none());
    assert_eq!(r.end_of_wal(), e6);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stale_page_from_a_recycled_segment_ends_wal() {
    let dir = test_dir("stale");
    let wal = started_wal(&dir, 8);
    let (s0, e0) = wal
        .insert_record(RmgrId::Heap, 0, Xid(3), &bytes(1, 100), &[], None)
        .unwrap();
    wal.flush(e0).unwrap();
    // Page 2 of segment 1 holds a valid-looking page of another address.
    let path = dir.join("pg_wal").join(file::segment_file_name(1, 1, SEG));
    let mut seg = std::fs::read(&path).unwrap();
    file::write_page_header(
        &mut seg[BLCKSZ..],
        7 * SEG + BLCKSZ as u64,
        SEG,
        SYSID,
        0,
        0,
    );
    std::fs::write(&path, seg).unwrap();
    // Reading from the start of page 2 finds the wrong page address.
    let mut r = reader(&dir, Lsn(SEG + BLCKSZ as u64));
    assert!(r.next_record().unwrap().is_none());
    assert!(
        r.end_reason().unwrap().starts_with("unexpected pageaddr"),
        "{:?}",
        r.end_reason()
    );
    let mut r = reader(&dir, s0);
    assert!(r.next_record().unwrap().is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn group_commit_serves_every_waiting_committer_with_one_fdatasync() {
    let dir = test_dir("group");
    let wal = started_wal(&dir, 16);
    let counters = shared_counters();
    const N: u32 = 4;
    // Hold WALWriteLock while the committers insert and queue up behind it.
    let guard = wal.hold_write_lock_for_test();
    let children: Vec<_> = (0..N)
        .map(|i| {
            let wal = &wal;
            fork_child(move || {
                let (_, end) = wal
                    .insert_record(RmgrId::Xact, 0, Xid(10 + i as u64), b"commit", &[], None)
                    .unwrap();
                counters[0].fetch_add(1, Ordering::SeqCst);
                wal.flush(end).unwrap();
                assert!(wal.flushed_lsn() >= end);
            })
        })
        .collect();
    while counters[0].load(Ordering::SeqCst) < N {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let before = wal.stats();
    drop(guard);
    for c in children {
        wait_ok(c);
    }
    let after = wal.stats();
    assert_eq!(
        after.wal_sync - before.wal_sync,
        1,
        "one fdatasync served all {N} commits"
    );
    assert_eq!(after.wal_write - before.wal_write, 1);
    assert_eq!(wal.flushed_lsn(), wal.insert_lsn());
    let mut r = reader(&dir, Lsn(SEG + SIZE_OF_LONG_PHD as u64));
    let mut xids: Vec<u64> = std::iter::from_fn(|| r.next_record().unwrap())
        .map(|rec| rec.xid.0)
        .collect();
    xids.sort();
    assert_eq!(xids, vec![10, 11, 12, 13]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_inserts_and_flushes_keep_positions_monotonic_and_the_chain_intact() {
    let dir = test_dir("concurrent");
    let wal = started_wal(&dir, 8);
    const PER_CHILD: u64 = 150;
    let children: Vec<_> = (0..3u64)
        .map(|c| {
            let wal = &wal;
            fork_child(move || {
                let mut last_end = Lsn::INVALID;
                let mut last_flushed = Lsn::INVALID;
                for i in 0..PER_CHILD {
                    let len = ((c * 7919 + i * 104729) % 3000) as usize;
                    let (start, end) = wal
                        .insert_record(
                            RmgrId::Heap,
                            0,
                            Xid(1000 * (c + 1) + i),
                            &bytes(i, len),
                            &[],
                            None,
                        )
                        .unwrap();
                    assert!(
                        start >= last_end && end > start,
                        "insert positions move forward"
                    );
                    assert!(wal.insert_lsn() >= end);
                    if i % 3 == 0 {
                        wal.flush(end).unwrap();
                        let f = wal.flushed_lsn();
                        assert!(
                            f >= end && f >= last_flushed,
                            "flush positions move forward"
                        );
                        assert!(wal.write_lsn() >= f);
                        last_flushed = f;
                    }
                    last_end = end;
                }
                wal.flush(last_end).unwrap();
            })
        })
        .collect();
    // The parent plays walwriter meanwhile.
    let mut rounds = 0;
    while rounds < 50 {
        let _ = wal.write_and_flush_background().unwrap();
        rounds += 1;
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    for c in children {
        wait_ok(c);
    }
    assert!(
        !wal.write_and_flush_background().unwrap(),
        "nothing left for the walwriter"
    );
    let mut r = reader(&dir, Lsn(SEG + SIZE_OF_LONG_PHD as u64));
    let mut per_child = [Vec::new(), Vec::new(), Vec::new()];
    while let Some(rec) = r.next_record().unwrap() {
        let c = (rec.xid.0 / 1000 - 1) as usize;
        per_child[c].push(rec.xid.0 % 1000);
    }
    for (c, seen) in per_child.iter().enumerate() {
        assert_eq!(
            *seen,
            (0..PER_CHILD).collect::<Vec<_>>(),
            "child {c}'s records, in its order"
        );
    }
    assert_eq!(r.end_of_wal(), wal.flushed_lsn());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn switch_pads_the_segment_and_the_reader_continues_in_the_next() {
    let dir = test_dir("switch");
    let wal = started_wal(&dir, 4);
    let (s1, _) = wal
        .insert_record(RmgrId::Heap, 0, Xid(3), b"before", &[], None)
        .unwrap();
    let switch_end = wal.switch_segment().unwrap();
    assert_eq!(
        switch_end.0 / SEG,
        1,
        "the switch record ends in the segment it closes"
    );
    assert_eq!(wal.flushed_lsn(), Lsn(2 * SEG));
    assert_eq!(wal.insert_lsn(), Lsn(2 * SEG + SIZE_OF_LONG_PHD as u64));
    // Nothing in the new segment yet: a second switch does nothing.
    assert_eq!(wal.switch_segment().unwrap(), wal.insert_lsn());
    let (s3, e3) = wal
        .insert_record(RmgrId::Heap, 0, Xid(4), b"after", &[], None)
        .unwrap();
    assert_eq!(s3, Lsn(2 * SEG + SIZE_OF_LONG_PHD as u64));
    wal.flush(e3).unwrap();
    let mut r = reader(&dir, s1);
    assert_eq!(r.next_record().unwrap().unwrap().main_data, b"before");
    let sw = r.next_record().unwrap().unwrap();
    assert_eq!(
        (sw.rmgr, sw.info, sw.end_lsn),
        (RmgrId::Xlog, XLOG_SWITCH, Lsn(2 * SEG))
    );
    let after = r.next_record().unwrap().unwrap();
    assert_eq!(
        (after.lsn, after.prev, after.main_data.as_slice()),
        (s3, sw.lsn, &b"after"[..])
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checkpoint_records_encode_and_decode() {
    let cp = CheckPoint {
        redo: Lsn(0x1_2345_6788),
        timeline: 1,
        prev_timeline: 1,
        full_page_writes: true,
        next_xid: Xid(1 << 40),
        next_oid: 16_500,
        next_multi: 3,
        next_multi_offset: 9,
        oldest_xid: Xid(3),
        oldest_xid_db: 1,
        oldest_multi: 1,
        oldest_multi_db: 1,
        oldest_active_xid: Xid(1 << 40),
        time: 1_700_000_000,
    };
    let enc = cp.encode();
    assert_eq!(enc.len(), CheckPoint::ENCODED_SIZE);
    assert_eq!(CheckPoint::decode(&enc), Some(cp));
    assert_eq!(CheckPoint::decode(&enc[1..]), None);

    // initdb's checkpoint, read back as the startup process does.
    let dir = test_dir("bootstrap");
    let (lsn, boot) = bootstrap_wal_sized(&dir, SYSID, SEG).unwrap();
    assert_eq!(lsn, Lsn(SEG + SIZE_OF_LONG_PHD as u64));
    assert_eq!(boot.redo, lsn);
    let mut r = reader(&dir, lsn);
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(
        (rec.rmgr, rec.info, rec.prev),
        (RmgrId::Xlog, XLOG_CHECKPOINT_SHUTDOWN, Lsn::INVALID)
    );
    assert_eq!(CheckPoint::decode(&rec.main_data), Some(boot));
    assert!(r.next_record().unwrap().is_none());
    // A reader expecting another system refuses the segment.
    let mut other = WalReader::with_segment_size(&dir, lsn, SEG);
    other.expect_system_identifier(SYSID + 1);
    assert!(other.next_record().unwrap().is_none());
    assert!(
        other
            .end_reason()
            .unwrap()
            .contains("different database system")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bootstrap_writes_a_full_size_first_segment_like_initdb() {
    let dir = std::env::temp_dir().join(format!("fg-wal-initdb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (lsn, _) = bootstrap_wal(&dir, SYSID).unwrap();
    assert_eq!(lsn.to_string(), "0/1000028");
    let files = list_segments(&dir).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "000000010000000000000001");
    assert_eq!(files[0].size, WAL_SEGMENT_SIZE);
    assert!(dir.join("pg_wal/archive_status").is_dir());
    let mut r = WalReader::new(&dir, lsn);
    assert_eq!(
        r.next_record().unwrap().unwrap().info,
        XLOG_CHECKPOINT_SHUTDOWN
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn full_page_images_follow_the_redo_pointer() {
    let dir = test_dir("fpi");
    let wal = started_wal(&dir, 8);
    let (_, e1) = wal
        .insert_record(RmgrId::Heap, 0, Xid(3), b"x", &[], None)
        .unwrap();
    let redo = wal.begin_checkpoint();
    assert_eq!(redo, e1);
    assert_eq!(wal.redo_pointer(), redo);
    assert!(wal.needs_full_page_image(Lsn(0)), "a page never logged");
    assert!(
        wal.needs_full_page_image(e1),
        "last changed before the checkpoint"
    );
    let (_, e2) = wal
        .insert_record(RmgrId::Heap, 0, Xid(3), b"y", &[], None)
        .unwrap();
    assert!(
        !wal.needs_full_page_image(e2),
        "already changed since the checkpoint"
    );
    // A checkpoint starting between the decision and the insert is caught.
    let decided = wal.redo_pointer();
    let new_redo = wal.begin_checkpoint();
    assert!(new_redo > decided);
    assert!(
        wal.insert_record(RmgrId::Heap, 0, Xid(3), b"z", &[], Some(decided))
            .is_none()
    );
    assert!(
        wal.insert_record(RmgrId::Heap, 0, Xid(3), b"z", &[], Some(new_redo))
            .is_some()
    );
    assert_eq!(wal.bytes_since_redo(), wal.insert_lsn().0 - new_redo.0);
    wal.set_options(true, false);
    assert!(!wal.needs_full_page_image(Lsn(0)), "full_page_writes = off");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn old_segments_are_recycled_up_to_min_wal_size_then_removed_and_ready_ones_kept() {
    let dir = test_dir("recycle");
    for segno in 1..=30u64 {
        std::fs::write(
            dir.join("pg_wal")
                .join(file::segment_file_name(1, segno, SEG)),
            vec![0u8; SEG as usize],
        )
        .unwrap();
    }
    let kept = file::segment_file_name(1, 2, SEG);
    std::fs::write(
        dir.join("pg_wal/archive_status")
            .join(format!("{kept}.ready")),
        b"",
    )
    .unwrap();
    let redo = Lsn(30 * SEG + 100);
    // 1 MB = 16 segments of 64 KiB: segments 31..=45 may be prepared.
    let keep = |name: &str| {
        dir.join("pg_wal/archive_status")
            .join(format!("{name}.ready"))
            .exists()
    };
    let (removed, recycled) = file::remove_old_segments_sized(&dir, redo, keep, 1, 4, SEG).unwrap();
    assert_eq!((removed, recycled), (13, 15));
    let names: Vec<String> = list_segments(&dir)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    let mut expected: Vec<String> = [2u64]
        .into_iter()
        .chain(30..=45)
        .map(|s| file::segment_file_name(1, s, SEG))
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn page_headers_round_trip() {
    let mut page = vec![0u8; BLCKSZ];
    file::write_page_header(&mut page, SEG, SEG, SYSID, 0, 0);
    let h = file::parse_page_header(&page);
    assert_eq!(
        (h.magic, h.info, h.pageaddr, h.sysid, h.seg_size as u64),
        (
            file::XLOG_PAGE_MAGIC,
            file::XLP_LONG_HEADER,
            Lsn(SEG),
            SYSID,
            SEG
        )
    );
    assert!(file::validate_page_header(&h, SEG, SEG, Some(SYSID)).is_ok());
    file::write_page_header(
        &mut page,
        SEG + 8192,
        SEG,
        SYSID,
        file::XLP_FIRST_IS_CONTRECORD,
        77,
    );
    let h = file::parse_page_header(&page);
    assert_eq!(
        (h.info, h.rem_len, h.sysid),
        (file::XLP_FIRST_IS_CONTRECORD, 77, 0)
    );
    assert!(file::validate_page_header(&h, SEG + 8192, SEG, Some(SYSID)).is_ok());
    assert!(file::validate_page_header(&h, SEG + 16384, SEG, Some(SYSID)).is_err());
    assert_eq!(SIZE_OF_SHORT_PHD, 24);
}
