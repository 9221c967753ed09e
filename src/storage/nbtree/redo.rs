//! Redo of B-tree records (`RmgrId::Btree`, PostgreSQL's `nbtxlog.c`),
//! through the heap's block redo (images, LSN checks, missing pages).

use super::tree::{XLOG_BTREE_DELETE, XLOG_BTREE_INSERT_LEAF, XLOG_BTREE_PAGES};
use crate::storage::buffer::BufferPool;
use crate::storage::heap::redo::redo_block;
use crate::storage::wal::DecodedRecord;
use crate::utils::elog::{PgError, PgResult, sqlstate};

fn malformed(rec: &DecodedRecord) -> PgError {
    PgError::error(
        sqlstate::DATA_CORRUPTED,
        format!("malformed btree record at {}", rec.lsn),
    )
}

/// Replays one record into `pool`.
pub fn bt_redo_with(pool: &BufferPool, rec: &DecodedRecord) -> PgResult<()> {
    match rec.info & 0xF0 {
        XLOG_BTREE_INSERT_LEAF => {
            let b = rec.blocks.first().ok_or_else(|| malformed(rec))?;
            redo_block(pool, rec, b, false, |page, _| {
                if b.data.len() < 3 {
                    return Err("insert record without a tuple".into());
                }
                let off = u16::from_le_bytes([b.data[0], b.data[1]]);
                if off == 0 || off > page.max_offset() + 1 {
                    return Err(format!(
                        "insert at offset {off} beyond {}",
                        page.max_offset() + 1
                    ));
                }
                if page.insert_item_at(&b.data[2..], off) {
                    Ok(())
                } else {
                    Err(format!("tuple does not fit at offset {off}"))
                }
            })
        }
        XLOG_BTREE_DELETE => {
            let b = rec.blocks.first().ok_or_else(|| malformed(rec))?;
            redo_block(pool, rec, b, false, |page, _| {
                if b.data.is_empty() || b.data.len() % 2 != 0 {
                    return Err("delete record without offsets".into());
                }
                let offs: Vec<u16> = b
                    .data
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                let max = page.max_offset();
                if !offs.windows(2).all(|w| w[0] < w[1]) || offs.iter().any(|&o| o == 0 || o > max)
                {
                    return Err(format!(
                        "delete of offsets {offs:?} on a page of {max} items"
                    ));
                }
                page.index_multi_delete(&offs);
                Ok(())
            })
        }
        XLOG_BTREE_PAGES => {
            if rec.blocks.iter().any(|b| b.image.is_none()) {
                return Err(malformed(rec));
            }
            for b in &rec.blocks {
                redo_block(pool, rec, b, true, |_, _| Ok(()))?;
            }
            Ok(())
        }
        _ => Err(malformed(rec)),
    }
}

/// Redo in the startup process; a failure is a PANIC, as every redo
/// failure is.
pub fn bt_redo(rec: &DecodedRecord) {
    if let Err(e) = bt_redo_with(crate::storage::buffer::pool(), rec) {
        panic!("PANIC: btree redo failed at {}: {}", rec.lsn, e.message);
    }
}
