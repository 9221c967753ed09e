//! Sequence relations on disk (the storage half of PostgreSQL's
//! `commands/sequence.c`): one heap page holding one frozen tuple
//! `(last_value int8, log_cnt int8, is_called bool)`, changed in place and
//! outside transactions, WAL-logged ahead of use.
//!
//! # Design
//!
//! A sequence is a relation of `relkind 'S'` whose block 0 is an ordinary
//! heap page with one tuple at offset 1. Its `t_xmin` is `FrozenTransactionId`,
//! so every snapshot sees it and `SELECT * FROM seq` is a plain heap scan.
//! Its parameters (increment, bounds, cache, cycle) are `pg_sequence`'s,
//! read by the caller; this module only moves the counter.
//!
//! `nextval` ([`seq_fetch`]) takes the page's exclusive content lock,
//! hands out up to `cache` values and writes the new state back in place.
//! It does not log every call: a WAL record states a `last_value`
//! [`SEQ_LOG_VALS`] values *beyond* what is handed out, and `log_cnt`
//! counts how many of those may still be used without a new record.
//! Crash recovery replays the record, so the sequence restarts past every
//! value that may have been returned: values are skipped, never repeated.
//!
//! # Rules (also in `README.md`)
//!
//! - **S1.** A value leaves [`seq_fetch`] only after a WAL record covering
//!   it is flushed to disk (`fdatasync`), so even a transaction that writes
//!   nothing else (`SELECT nextval('s')`) cannot see its value handed out
//!   again after a crash.
//! - **S2.** The first change after a checkpoint's redo pointer always logs
//!   (even with `log_cnt` left): recovery starts at the redo pointer and
//!   would otherwise not advance the page past values handed out since.
//! - **S3.** Every record rewrites the whole page (`will_init`), so no
//!   full-page image is needed: redo rebuilds the page from the record.
//! - **S4.** All changes happen under the buffer's exclusive content lock,
//!   in a critical section; readers (heap scans) take the share lock and
//!   see either the old tuple or the new one.
//! - **S5.** Changes are not transactional: a rolled-back `nextval` or
//!   `setval` stays done, as in PostgreSQL.

use crate::storage::buffer::BufferLockGuard;
use crate::storage::heap::access::{CritSection, HeapRelation, HeapStorage};
use crate::storage::heap::htup::{HEAP_XMAX_INVALID, HEAP_XMIN_FROZEN, HeapTupleHeader};
use crate::storage::heap::page::{heap_page_add_tuple_at, heap_page_get_tuple};
use crate::storage::heap::{AttrType, Attribute, HeapValue, TupleDesc, deform_tuple, form_tuple};
use crate::storage::page::Page;
use crate::storage::types::{BufferTag, ForkNumber, Xid};
use crate::storage::wal::{BlockRef, DecodedRecord, RmgrId};
use crate::utils::elog::{PgError, PgResult, sqlstate};

/// How many values a WAL record covers beyond those handed out
/// (PostgreSQL's `SEQ_LOG_VALS`).
pub const SEQ_LOG_VALS: i64 = 32;
/// `XLOG_SEQ_LOG`: the sequence's new tuple, rewriting block 0.
pub const XLOG_SEQ_LOG: u8 = 0x00;

/// The tuple on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqState {
    pub last_value: i64,
    pub log_cnt: i64,
    pub is_called: bool,
}

/// `pg_sequence`'s parameters, as [`seq_fetch`] needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqParams {
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
}

/// What one `nextval` fetched: the value to return and the last value the
/// backend may hand out from its cache without coming back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub value: i64,
    pub last_cached: i64,
}

/// The columns of every sequence relation (`pg_attribute` too).
pub const SEQ_COLUMNS: [(&str, AttrType); 3] = [
    ("last_value", AttrType::Int8),
    ("log_cnt", AttrType::Int8),
    ("is_called", AttrType::Bool),
];

fn seq_desc() -> TupleDesc {
    TupleDesc::new(
        SEQ_COLUMNS
            .iter()
            .map(|(n, t)| Attribute::new(*n, *t).not_null())
            .collect(),
    )
}

/// The frozen tuple of `state`.
fn seq_tuple(state: SeqState) -> Vec<u8> {
    let mut t = form_tuple(
        &seq_desc(),
        &[
            HeapValue::I64(state.last_value),
            HeapValue::I64(state.log_cnt),
            HeapValue::Bool(state.is_called),
        ],
    )
    .expect("a sequence tuple is three fixed-width columns");
    let mut h = HeapTupleHeader::read(&t);
    h.t_xmin = Xid::FROZEN;
    h.t_xmax = Xid::INVALID;
    h.t_cid = 0;
    h.t_infomask |= HEAP_XMIN_FROZEN | HEAP_XMAX_INVALID;
    h.write(&mut t);
    t
}

fn tag(rel: &HeapRelation) -> BufferTag {
    BufferTag {
        rel: rel.locator,
        fork: ForkNumber::Main,
        block: 0,
    }
}

fn corrupt(rel: &HeapRelation) -> PgError {
    PgError::error(
        sqlstate::DATA_CORRUPTED,
        format!("bad magic number in sequence \"{}\"", rel.name),
    )
}

/// The state on the locked page.
fn read_locked(rel: &HeapRelation, g: &BufferLockGuard<'_>) -> PgResult<SeqState> {
    let page = Page::new(g.page());
    if page.is_new() || page.max_offset() != 1 {
        return Err(corrupt(rel));
    }
    let t = heap_page_get_tuple(&page, 1).ok_or_else(|| corrupt(rel))?;
    match deform_tuple(&seq_desc(), t).as_slice() {
        [
            HeapValue::I64(last_value),
            HeapValue::I64(log_cnt),
            HeapValue::Bool(is_called),
        ] => Ok(SeqState {
            last_value: *last_value,
            log_cnt: *log_cnt,
            is_called: *is_called,
        }),
        _ => Err(corrupt(rel)),
    }
}

/// Rewrites the page with `tuple` at offset 1, keeping its LSN.
fn write_page(page: &mut crate::storage::page::PageMut<'_>, tuple: &[u8]) {
    let lsn = page.lsn();
    page.init(0);
    heap_page_add_tuple_at(page, 0, 1, tuple).expect("a sequence tuple fits an empty page");
    page.set_lsn(lsn);
}

/// Writes `state` to the locked page (`page_state`) and, when `logged`
/// differs or must be logged, a WAL record of `logged` (rules S2–S4).
/// Returns the record's end, to be flushed before any value is used (S1).
fn change_locked(
    storage: &HeapStorage<'_>,
    g: &mut BufferLockGuard<'_>,
    page_state: SeqState,
    logged: Option<SeqState>,
) -> Option<crate::storage::types::Lsn> {
    let _crit = CritSection::enter();
    write_page(&mut Page::new(g.page_mut()), &seq_tuple(page_state));
    g.mark_dirty();
    let logged = logged?;
    let tuple = seq_tuple(logged);
    let end = loop {
        let redo = storage.wal.redo_pointer();
        let refs = [BlockRef {
            tag: g.tag(),
            image: None,
            data: &tuple,
        }];
        if let Some(end) = storage.wal.insert_if_redo_unchanged(
            redo,
            RmgrId::Sequence,
            XLOG_SEQ_LOG,
            Xid::INVALID,
            &[],
            &refs,
        ) {
            break end;
        }
    };
    let mut page = Page::new(g.page_mut());
    page.set_lsn(end);
    page.assert_valid();
    Some(end)
}

/// Creates block 0 of a new sequence (its file exists, empty) with `state`.
pub fn seq_init(rel: &HeapRelation, state: SeqState) -> PgResult<()> {
    let storage = HeapStorage::this_process();
    let (mut g, blkno) = storage.pool.extend(rel.locator, ForkNumber::Main)?;
    assert_eq!(blkno, 0, "a new sequence's file is empty");
    Page::new(g.page_mut()).init(0);
    let end = change_locked(&storage, &mut g, state, Some(state));
    drop(g);
    if let Some(end) = end {
        storage.wal.flush(end)?;
    }
    Ok(())
}

/// The sequence's state now (`SELECT * FROM seq` reads the same tuple).
pub fn seq_read(rel: &HeapRelation) -> PgResult<SeqState> {
    let storage = HeapStorage::this_process();
    let pin = storage.pool.read_buffer(tag(rel))?;
    let g = pin.lock_shared();
    read_locked(rel, &g)
}

/// Replaces the state (`setval`, `ALTER SEQUENCE ... RESTART`): logged
/// and flushed at once, `log_cnt` 0 so the next `nextval` logs again.
pub fn seq_set(rel: &HeapRelation, last_value: i64, is_called: bool) -> PgResult<()> {
    let storage = HeapStorage::this_process();
    let pin = storage.pool.read_buffer(tag(rel))?;
    let mut g = pin.lock_exclusive();
    read_locked(rel, &g)?;
    let state = SeqState {
        last_value,
        log_cnt: 0,
        is_called,
    };
    let end = change_locked(&storage, &mut g, state, Some(state));
    drop(g);
    drop(pin);
    if let Some(end) = end {
        storage.wal.flush(end)?;
    }
    Ok(())
}

/// `nextval_internal`'s page part: fetches up to `p.cache` values past the
/// page's state, logging [`SEQ_LOG_VALS`] more when the logged values run
/// out or a checkpoint intervened (rules S1, S2). `name` is for messages.
pub fn seq_fetch(rel: &HeapRelation, name: &str, p: SeqParams) -> PgResult<Fetched> {
    let storage = HeapStorage::this_process();
    let pin = storage.pool.read_buffer(tag(rel))?;
    let mut g = pin.lock_exclusive();
    let seq = read_locked(rel, &g)?;

    let cache = p.cache.max(1);
    let mut fetch = cache;
    let mut log = seq.log_cnt;
    let mut rescnt = 0i64;
    let mut next = seq.last_value;
    let mut result = next;
    let mut last = next;
    if !seq.is_called {
        rescnt += 1; // last_value itself is the first value
        fetch -= 1;
    }
    let mut logit = false;
    let page_lsn = Page::new(g.page()).lsn();
    if log < fetch || !seq.is_called || page_lsn <= storage.wal.redo_pointer() {
        fetch += SEQ_LOG_VALS;
        log = fetch;
        logit = true;
    }
    while fetch > 0 {
        if p.increment > 0 {
            if (p.max >= 0 && next > p.max - p.increment)
                || (p.max < 0 && next + p.increment > p.max)
            {
                if rescnt > 0 {
                    break; // stop fetching: we have a value to return
                }
                if !p.cycle {
                    return Err(PgError::error(
                        sqlstate::SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
                        format!(
                            "nextval: reached maximum value of sequence \"{name}\" ({})",
                            p.max
                        ),
                    ));
                }
                next = p.min;
            } else {
                next += p.increment;
            }
        } else if (p.min < 0 && next < p.min - p.increment)
            || (p.min >= 0 && next + p.increment < p.min)
        {
            if rescnt > 0 {
                break;
            }
            if !p.cycle {
                return Err(PgError::error(
                    sqlstate::SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
                    format!(
                        "nextval: reached minimum value of sequence \"{name}\" ({})",
                        p.min
                    ),
                ));
            }
            next = p.max;
        } else {
            next += p.increment;
        }
        fetch -= 1;
        if rescnt < cache {
            log -= 1;
            rescnt += 1;
            last = next;
            if rescnt == 1 {
                result = next;
            }
        }
    }
    log -= fetch; // values not fetched are not logged either

    let page_state = SeqState {
        last_value: last,
        log_cnt: log,
        is_called: true,
    };
    let logged = logit.then_some(SeqState {
        last_value: next,
        log_cnt: 0,
        is_called: true,
    });
    let end = change_locked(&storage, &mut g, page_state, logged);
    drop(g);
    drop(pin);
    if let Some(end) = end {
        storage.wal.flush(end)?;
    }
    Ok(Fetched {
        value: result,
        last_cached: last,
    })
}

/// Redo of `XLOG_SEQ_LOG` (startup process): the page becomes the record's
/// tuple (rule S3). A failure is a PANIC, as every redo failure is.
pub fn seq_redo(rec: &DecodedRecord) {
    let result = (|| -> PgResult<()> {
        let b = rec.blocks.first().ok_or_else(|| {
            PgError::error(sqlstate::DATA_CORRUPTED, "sequence record without a block")
        })?;
        crate::storage::heap::redo::redo_block(
            crate::storage::buffer::pool(),
            rec,
            b,
            true,
            |page, blkno| {
                heap_page_add_tuple_at(page, blkno, 1, &b.data)
                    .map(|_| ())
                    .ok_or_else(|| "sequence tuple does not fit".to_string())
            },
        )
    })();
    if let Err(e) = result {
        panic!("PANIC: sequence redo failed: {}", e.message);
    }
}
