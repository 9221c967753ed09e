//! The background writer (PostgreSQL's `bgwriter.c`): every
//! `bgwriter_delay` it writes dirty buffers ahead of the clock hand so that
//! backends find clean ones. SIGTERM: exit 0, restarted quietly.
//! Each round is PostgreSQL's BgBufferSync: estimate how many buffers
//! backends will allocate before the next round (from recent allocations ×
//! `bgwriter_lru_multiplier`) and write that many dirty, unpinned,
//! usage-count-0 buffers ahead of the clock hand, at most
//! `bgwriter_lru_maxpages` (0 disables it). Counted in pg_stat_bgwriter's
//! `buffers_clean` and `maxwritten_clean`.

use crate::postmaster::ServerEnv;
use crate::process::signals;

pub fn main(mut env: ServerEnv) -> ! {
    loop {
        let interval = super::setting_ms(&env, "bgwriter_delay");
        let bits = super::wait_for_work(&mut env, interval);
        if bits & signals::SIGTERM_PENDING != 0 {
            crate::process::proc_exit(0);
        }
        let maxpages = env.settings.get_int("bgwriter_lru_maxpages").max(0) as u32;
        if maxpages == 0 {
            continue;
        }
        let multiplier = env.settings.get_real("bgwriter_lru_multiplier");
        if let Err(e) = crate::storage::buffer::pool().bgwriter_lru_scan(maxpages, multiplier) {
            crate::utils::elog::log_error(&e, None);
        }
    }
}
