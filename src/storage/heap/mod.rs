//! The heap: tuple format and visibility. PostgreSQL's `htup_details.h`,
//! `heaptuple.c`, `heapam_visibility.c` and the page-level parts of
//! `hio.c`, `heapam.c` and `pruneheap.c`. The numbered rules are in
//! `README.md` beside this file.
//!
//! # A heap tuple
//!
//! ```text
//!  0        8        16    20      26    28     30   31        t_hoff
//!  +--------+--------+-----+-------+-----+------+----+--- ... ---+-----------
//!  | t_xmin | t_xmax |t_cid| t_ctid|mask2|t_info|hoff| null bits | data ...
//!  +--------+--------+-----+-------+-----+------+----+--- ... ---+-----------
//! ```
//!
//! Every version of a row is a separate tuple. `t_xmin` inserted it,
//! `t_xmax` deleted, updated or row-locked it; an UPDATE sets `t_xmax` on
//! the old version and points its `t_ctid` at the new one, which carries
//! `HEAP_UPDATED`. Hint bits in `t_infomask` cache the fate of `t_xmin`
//! and `t_xmax` so that the commit log is consulted once per tuple, not
//! once per look. Data layout and the storage form of values are in
//! [`mod@tuple`].
//!
//! # Visibility
//!
//! [`visibility`] answers three questions about one tuple, as PostgreSQL
//! does: does this MVCC snapshot see it ([`satisfies_mvcc`]), may this
//! command update/delete/lock it ([`satisfies_update`]), and may VACUUM
//! remove it ([`satisfies_vacuum`]). They read a decoded header, ask a
//! [`XactStatus`] (implemented by the transaction module) about xids, and
//! return the hint bits that may be set; the caller sets them on the page
//! under the content lock it already holds. Nothing here locks or waits.
//!
//! # Differences from PostgreSQL
//!
//! - **64-bit xids** in `t_xmin`/`t_xmax` (and `pd_prune_xid`): no
//!   wraparound, so freezing is only an optimisation (it saves commit-log
//!   lookups and lets old commit-log pages go), never a necessity. The
//!   header's fixed part is 31 bytes (PostgreSQL 23), `t_hoff` at least 32.
//! - **No combo command ids.** `t_cid` holds one command id. It is cmin
//!   when the tuple is inserted; a delete or update overwrites it with cmax
//!   (`heap_page_set_cmax`). When the transaction that inserted a tuple
//!   deletes it too, cmin is lost — PostgreSQL keeps both through a combo
//!   cid. Our rule: then the insert is taken to be older than every command
//!   checking the tuple (true for the command doing the delete and every
//!   later one). The limitation: a scan in that transaction whose `curcid`
//!   predates the insert — a cursor opened before the row was inserted,
//!   then the row inserted and deleted, then the cursor read — sees the row
//!   where PostgreSQL would not. Tuples deleted by another transaction, and
//!   own tuples merely row-locked, are unaffected.
//! - **No MultiXacts.** `t_xmax` holds one xid: one row-locker or one
//!   updater. Several transactions sharing a FOR SHARE lock must be tracked
//!   in the heavyweight lock manager; `HEAP_XMAX_IS_MULTI` is never set.
//! - **Subtransactions**: "my own xid" is the snapshot's `curxid` or one of its `own_subxids`.
//! - **No TOAST**: varlenas always have a 4-byte header and live inline, so
//!   a row must fit on a page (8152 bytes); larger rows are error `54000`.
//!   No 1-byte short varlena headers, so every varlena is 4-byte aligned.
//! - **No HOT (yet)**: `HEAP_HOT_UPDATED` / `HEAP_ONLY_TUPLE` exist but are
//!   not set; pruning marks dead tuples `LP_DEAD` and compacts, without
//!   chains or redirects.
//! - `XMIN_COMMITTED`/`XMAX_COMMITTED` hints are withheld until the commit
//!   record is flushed ([`XactStatus::commit_is_durable`]), as PostgreSQL's
//!   `SetHintBits` does for asynchronous commits.
//! - Fields are little-endian on disk; tuples are decoded field by field,
//!   never cast from page memory.
//!
//! # The access method
//!
//! [`access`] pins buffers, takes content and tuple locks, waits for
//! transactions and writes WAL around the page operations of [`mod@page`]
//! (`heap_insert`, `heap_scan`, `heap_update`, ...); [`redo`] holds the
//! Heap and Storage WAL records and their replay. Rules H1–H12 in README.md.
//!
//! # Crash behaviour
//!
//! Everything here is a pure function of page bytes. Changes to tuples
//! (insert, xmax, ctid, prune) must be WAL-logged by the caller in the same
//! critical section; hint bits are not logged (a lost hint is recomputed
//! from the commit log), which is why a `*_COMMITTED` hint must never get
//! ahead of the commit record.

pub mod access;
pub mod htup;
pub mod page;
pub mod redo;
pub mod tuple;
pub mod vacuum;
pub mod visibility;

pub use htup::{CommandId, HeapTupleHeader, MAX_HEAP_TUPLE_SIZE, MAX_HEAP_TUPLES_PER_PAGE};
pub use page::{
    PruneResult, heap_page_add_tuple, heap_page_add_tuple_at, heap_page_free_space,
    heap_page_get_tuple, heap_page_get_tuple_mut, heap_page_is_prunable, heap_page_mark_unused,
    heap_page_prune, heap_page_set_cmax, heap_page_set_ctid, heap_page_set_hint_bits,
    heap_page_set_xmax, heap_page_tuple_header, heap_page_tuples, heap_prepare_insert,
};
pub use tuple::{AttrType, Attribute, HeapValue, TupleDesc, TypAlign, deform_tuple, form_tuple};
pub use visibility::{
    HintBits, HtsvResult, Snapshot, TmResult, XactStatus, XidStatus, satisfies_mvcc,
    satisfies_update, satisfies_vacuum,
};
