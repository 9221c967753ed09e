//! The built-in window functions (PostgreSQL's `utils/adt/windowfuncs.c`):
//! `row_number`, `rank`, `dense_rank`, `percent_rank`, `cume_dist`,
//! `ntile`, `lag`, `lead`, `first_value`, `last_value`, `nth_value`.
//!
//! They are `prokind = 'w'` entries of the registry whose implementation
//! is the executor's WindowAgg node (`exec::window`), which knows the
//! partition, the peer groups and the frame each of them reads; calling one
//! without `OVER` is an analysis error. Aggregates called with `OVER` are
//! run by the same node through their ordinary transition functions.

use super::{ArgType, Builder, FuncKind, Impl};
use crate::sql::types::Type;
use crate::sql::types::consts::*;

/// Which window function an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WinKind {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile,
    Lag,
    Lead,
    FirstValue,
    LastValue,
    NthValue,
}

pub(super) fn register(b: &mut Builder) {
    use ArgType::{AnyCompatible, AnyElement, T};
    let mut win = |name: &'static str, args: &[ArgType], ret, kind, strict| {
        b.push(
            name,
            FuncKind::Window(kind),
            args.to_vec(),
            ret,
            Impl::Window,
        )
        .strict = strict;
    };
    win("row_number", &[], Int8, WinKind::RowNumber, false);
    win("rank", &[], Int8, WinKind::Rank, false);
    win("dense_rank", &[], Int8, WinKind::DenseRank, false);
    win("percent_rank", &[], Float8, WinKind::PercentRank, false);
    win("cume_dist", &[], Float8, WinKind::CumeDist, false);
    win("ntile", &[T(Int4)], Int4, WinKind::Ntile, true);
    for (name, kind) in [("lag", WinKind::Lag), ("lead", WinKind::Lead)] {
        win(name, &[AnyElement], Type::AnyElement, kind, true);
        win(name, &[AnyElement, T(Int4)], Type::AnyElement, kind, true);
        win(
            name,
            &[AnyCompatible, T(Int4), AnyCompatible],
            Type::AnyCompatible,
            kind,
            true,
        );
    }
    win(
        "first_value",
        &[AnyElement],
        Type::AnyElement,
        WinKind::FirstValue,
        true,
    );
    win(
        "last_value",
        &[AnyElement],
        Type::AnyElement,
        WinKind::LastValue,
        true,
    );
    win(
        "nth_value",
        &[AnyElement, T(Int4)],
        Type::AnyElement,
        WinKind::NthValue,
        true,
    );
}
