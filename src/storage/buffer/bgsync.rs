//! Writes done for background processes: the checkpoint's `BufferSync` and
//! the background writer's `BgBufferSync`, as in PostgreSQL's `bufmgr.c`.

use std::sync::atomic::Ordering;

use super::Buffer;
use super::desc::*;
use super::pool::{BufferPool, WriteSource};
use crate::storage::types::BufferTag;
use crate::utils::elog::PgResult;

/// Samples over which the bgwriter smooths its estimates (PostgreSQL's value).
const SMOOTHING_SAMPLES: f64 = 16.0;
/// The bgwriter visits every buffer at least once per this many ms when idle.
const SCAN_WHOLE_POOL_MS: u64 = 120_000;
/// `bgwriter_delay` assumed when turning that into buffers per round.
const ASSUMED_BGWRITER_DELAY_MS: u64 = 200;

/// The background writer's memory between rounds (PostgreSQL keeps these as
/// statics in `BgBufferSync`). Process-local: a restarted bgwriter starts over.
#[derive(Default)]
pub struct BgWriterState {
    saved_info_valid: bool,
    prev_strategy_buf_id: u32,
    prev_strategy_passes: u64,
    next_to_clean: u32,
    next_passes: u64,
    smoothed_alloc: f64,
    smoothed_density: f64,
}

/// What `sync_one_buffer` found.
struct SyncResult {
    written: bool,
    reusable: bool,
}

fn tag_order(t: &BufferTag) -> (u32, u32, u32, u8, u32) {
    (
        t.rel.spc_oid,
        t.rel.db_oid,
        t.rel.rel_number,
        t.fork as u8,
        t.block,
    )
}

impl BufferPool {
    /// Writes one buffer if dirty (`SyncOneBuffer`). With
    /// `skip_recently_used`, only an unpinned buffer with usage count 0 is
    /// written (the bgwriter's rule).
    fn sync_one_buffer(
        &self,
        id: u32,
        skip_recently_used: bool,
        source: WriteSource,
    ) -> PgResult<SyncResult> {
        let h = self.descs[id as usize].lock_header();
        let reusable = refcount(h.state) == 0 && usage_count(h.state) == 0;
        if (skip_recently_used && !reusable)
            || h.state & (BM_VALID | BM_DIRTY) != BM_VALID | BM_DIRTY
        {
            return Ok(SyncResult {
                written: false,
                reusable,
            });
        }
        let written = self.flush_locked(Buffer(id), h, source)?;
        Ok(SyncResult { written, reusable })
    }

    /// The checkpoint's write phase (`BufferSync`): marks every dirty buffer
    /// `BM_CHECKPOINT_NEEDED`, then writes those still marked in tag order
    /// (so the kernel sees mostly sequential writes), calling
    /// `progress(done, total)` after each so the checkpointer can pace itself
    /// (checkpoint_completion_target) and absorb fsync requests. Buffers
    /// dirtied after the start are left for the next checkpoint. Returns the
    /// number written (buffers_checkpoint).
    pub fn sync_for_checkpoint(&self, progress: &mut dyn FnMut(u32, u32)) -> PgResult<u32> {
        let mut to_write: Vec<(BufferTag, u32)> = Vec::new();
        for id in 0..self.nbuffers() {
            let mut h = self.descs[id as usize].lock_header();
            if h.state & (BM_TAG_VALID | BM_DIRTY) == BM_TAG_VALID | BM_DIRTY {
                h.state |= BM_CHECKPOINT_NEEDED;
                to_write.push((h.tag(), id));
            }
        }
        to_write.sort_unstable_by_key(|(t, _)| tag_order(t));
        let total = to_write.len() as u32;
        let mut written = 0;
        for (done, (tag, id)) in to_write.into_iter().enumerate() {
            let still_needed = {
                let h = self.descs[id as usize].lock_header();
                h.state & BM_CHECKPOINT_NEEDED != 0 && h.tag() == tag
            };
            // Written meanwhile by someone else (and maybe reused): skip. A
            // write in progress is waited for inside flush_buffer, so its
            // fsync request is queued before we return (smgr module doc).
            if still_needed
                && self
                    .sync_one_buffer(id, false, WriteSource::Checkpoint)?
                    .written
            {
                written += 1;
            }
            progress(done as u32 + 1, total);
        }
        Ok(written)
    }

    /// One background-writer round (`BgBufferSync`): writes dirty buffers
    /// that are unpinned and have usage count 0, just ahead of the clock
    /// hand, so backends find clean victims. How far ahead depends on the
    /// recent allocation rate (smoothed) times `lru_multiplier`; at most
    /// `lru_maxpages` are written (hitting it counts `maxwritten_clean`).
    /// Returns the number written (buffers_clean).
    pub fn bgwriter_lru_scan(&self, lru_maxpages: u32, lru_multiplier: f64) -> PgResult<u32> {
        let mut st = self.bgwriter.lock().expect("bgwriter state poisoned");
        let n = self.nbuffers();
        let hand = self.header.next_victim.load(Ordering::Relaxed);
        let strategy_buf_id = (hand % n as u64) as u32;
        let strategy_passes = hand / n as u64;
        let recent_alloc = self.header.allocs_since_bgwriter.swap(0, Ordering::Relaxed) as f64;

        if lru_maxpages == 0 {
            st.saved_info_valid = false;
            return Ok(0);
        }

        // How far the hand moved, and where our cleaning point is relative to it.
        let mut strategy_delta: i64 = 0;
        let bufs_to_lap: u32;
        if st.saved_info_valid {
            let passes_delta = strategy_passes as i64 - st.prev_strategy_passes as i64;
            strategy_delta =
                strategy_buf_id as i64 - st.prev_strategy_buf_id as i64 + passes_delta * n as i64;
            if st.next_passes > strategy_passes {
                // One pass ahead of the hand (we stop after a full lap, so never more).
                bufs_to_lap = strategy_buf_id.saturating_sub(st.next_to_clean);
            } else if st.next_passes == strategy_passes && st.next_to_clean >= strategy_buf_id {
                // Same pass, at or ahead of the hand.
                bufs_to_lap = n - (st.next_to_clean - strategy_buf_id);
            } else {
                // The hand passed us: restart from it.
                st.next_to_clean = strategy_buf_id;
                st.next_passes = strategy_passes;
                bufs_to_lap = n;
            }
        } else {
            st.next_to_clean = strategy_buf_id;
            st.next_passes = strategy_passes;
            bufs_to_lap = n;
        }
        st.prev_strategy_buf_id = strategy_buf_id;
        st.prev_strategy_passes = strategy_passes;
        st.saved_info_valid = true;

        // Buffers scanned per allocation, smoothed.
        if strategy_delta > 0 && recent_alloc > 0.0 {
            let scans_per_alloc = strategy_delta as f64 / recent_alloc;
            st.smoothed_density += (scans_per_alloc - st.smoothed_density) / SMOOTHING_SAMPLES;
        }
        let bufs_ahead = n - bufs_to_lap;
        let reusable_buffers_est = if st.smoothed_density > 0.0 {
            (bufs_ahead as f64 / st.smoothed_density) as u32
        } else {
            0
        };

        // Allocation demand: follow rises at once, decay slowly.
        if recent_alloc > st.smoothed_alloc {
            st.smoothed_alloc = recent_alloc;
        } else {
            st.smoothed_alloc += (recent_alloc - st.smoothed_alloc) / SMOOTHING_SAMPLES;
        }
        let mut upcoming_alloc_est = (st.smoothed_alloc * lru_multiplier) as u32;
        let min_scan_buffers = (n as u64 * ASSUMED_BGWRITER_DELAY_MS / SCAN_WHOLE_POOL_MS) as u32;
        if upcoming_alloc_est < min_scan_buffers + reusable_buffers_est {
            upcoming_alloc_est = min_scan_buffers + reusable_buffers_est;
        }

        let mut num_to_scan = bufs_to_lap;
        let mut num_written = 0;
        let mut reusable_buffers = reusable_buffers_est;
        while num_to_scan > 0 && reusable_buffers < upcoming_alloc_est {
            let result = self.sync_one_buffer(st.next_to_clean, true, WriteSource::BgWriter)?;
            st.next_to_clean += 1;
            if st.next_to_clean >= n {
                st.next_to_clean = 0;
                st.next_passes += 1;
            }
            num_to_scan -= 1;
            if result.written {
                reusable_buffers += 1;
                num_written += 1;
                if num_written >= lru_maxpages {
                    self.header
                        .stats
                        .maxwritten_clean
                        .fetch_add(1, Ordering::Relaxed);
                    break;
                }
            } else if result.reusable {
                reusable_buffers += 1;
            }
        }

        // Refine the density estimate with what this scan saw.
        let new_strategy_delta = bufs_to_lap - num_to_scan;
        let new_recent_alloc = reusable_buffers.saturating_sub(reusable_buffers_est);
        if new_strategy_delta > 0 && new_recent_alloc > 0 {
            let scans_per_alloc = new_strategy_delta as f64 / new_recent_alloc as f64;
            st.smoothed_density += (scans_per_alloc - st.smoothed_density) / SMOOTHING_SAMPLES;
        }
        Ok(num_written)
    }
}
