//! B-tree indexes: Lehman and Yao's B-link tree as PostgreSQL's nbtree
//! builds it (`src/backend/access/nbtree/README`), in the index's own
//! relation file. This is the storage half: pages, tuples, descent,
//! insertion with page splits, ordered scans, bulk deletion for VACUUM,
//! WAL and redo, and a structural check. The SQL half builds on it: the
//! catalog rows and key encoding (`catalog::index`), maintenance, unique
//! checks and builds (`backend::indexes`), CREATE INDEX and constraints
//! (`sql::indexcmds`), index paths (`sql::plan::indxpath`); see
//! `README.md` for what is not here yet.
//!
//! ```text
//!  block 0: metapage ──root──▶ level 2:            [-∞ │ k40]
//!                                                  ╱         ╲
//!                     level 1:      [-∞ │ k20] ──▶ [-∞ │ k60 ] ──▶ (rightmost)
//!                                   ╱      ╲         ╱      ╲
//!                     level 0: [hk k20│..] ▶ [hk k40│..] ▶ [hk k60│..] ▶ [..]
//! ```
//!
//! # Design
//!
//! - **Keys are the caller's bytes**, ordered by a [`KeyOrder`] (the
//!   operator class's comparison function), with the heap tuple id as the
//!   last key column, so all entries are distinct and a search for
//!   `(key, tid)` has one answer.
//! - **Right-links and high keys** let a reader that arrives at a page
//!   split after it read the parent move right instead of locking the
//!   parent: readers hold one page lock at a time, writers lock upward
//!   (child, then parent) and rightward, never down or left, so the locks
//!   cannot deadlock.
//! - **A split is one WAL record**: the split pages of every level, the
//!   left page's right sibling, a new root and the metapage are logged by
//!   their images in one record, written after all of them changed and
//!   while all are locked. Redo restores them together, so recovery never
//!   meets half a split (PostgreSQL logs each level separately and
//!   finishes an incomplete split on the next insert; one record is
//!   simpler and costs only bytes, splits being rare). A simple leaf
//!   insert is a small `INSERT_LEAF` record, and the entries a scan
//!   found dead leave in a `DELETE` record of their offsets (PostgreSQL
//!   marks them `LP_DEAD` without WAL and deletes them at the next split;
//!   deleting at once keeps the page format simple).
//!
//! Module map: [`page`] (formats and page-level search), [`tree`] (the
//! operations), [`redo`].

pub mod page;
pub mod redo;
pub mod tree;

#[cfg(test)]
mod tests;

pub use page::{IndexTuple, KeyOrder, MAX_KEY_SIZE};
pub use tree::{
    BtreeRelation, bt_bulk_delete, bt_check, bt_create, bt_delete_entries, bt_insert, bt_scan,
};
