//! Files that are not relations (PostgreSQL's `storage/file`): today the
//! temporary files a backend writes when a sort outgrows `work_mem`
//! ([`temp`]). Rules are in `README.md` beside this file.

pub mod temp;
