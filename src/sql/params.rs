//! Parameters of the extended query protocol (`$1 .. $n`).
//!
//! The backend is single-threaded, so the parameters of the statement being
//! analysed and executed live here for its duration: their types (declared
//! by Parse, or inferred by the analyser as for unknown-typed literals —
//! PostgreSQL's `parse_analyze_varparams`) and the values of the current
//! execution (Bind), which [`super::expr::Expr::Param`] reads.

use std::cell::RefCell;

use super::types::{Datum, Type};

thread_local! {
    static TYPES: RefCell<Option<Vec<Type>>> = const { RefCell::new(None) };
    static VALUES: RefCell<Vec<Datum>> = const { RefCell::new(Vec::new()) };
}

/// Parameters are allowed from now on, with these declared types
/// (`Type::Unknown` where the analyser is to infer them).
pub fn set_types(types: Vec<Type>) {
    TYPES.with(|t| *t.borrow_mut() = Some(types));
}

/// Parameter types as they stand (after analysis: resolved), or None when
/// the statement came through the simple query protocol.
pub fn types() -> Option<Vec<Type>> {
    TYPES.with(|t| t.borrow().clone())
}

/// Ends parameter handling (simple queries see no parameters).
pub fn clear() {
    TYPES.with(|t| *t.borrow_mut() = None);
    VALUES.with(|v| v.borrow_mut().clear());
}

/// The parameters in force, taken out (`EXECUTE` runs its statement with
/// its own and puts these back with [`restore`]).
pub fn take() -> (Option<Vec<Type>>, Vec<Datum>) {
    (
        TYPES.with(|t| t.borrow_mut().take()),
        VALUES.with(|v| std::mem::take(&mut *v.borrow_mut())),
    )
}

pub fn restore(saved: (Option<Vec<Type>>, Vec<Datum>)) {
    TYPES.with(|t| *t.borrow_mut() = saved.0);
    VALUES.with(|v| *v.borrow_mut() = saved.1);
}

pub fn set_values(values: Vec<Datum>) {
    VALUES.with(|v| *v.borrow_mut() = values);
}

/// The type of `$number` (1-based) as known now; None if not allowed.
pub(crate) fn type_of(number: usize) -> Option<Type> {
    TYPES.with(|t| {
        let mut t = t.borrow_mut();
        let list = t.as_mut()?;
        if number == 0 {
            return None;
        }
        if list.len() < number {
            list.resize(number, Type::Unknown);
        }
        Some(list[number - 1])
    })
}

/// Records the type the analyser inferred for `$number`.
pub(crate) fn resolve(number: usize, ty: Type) {
    TYPES.with(|t| {
        if let Some(list) = t.borrow_mut().as_mut() {
            if list.len() >= number && number > 0 && list[number - 1] == Type::Unknown {
                list[number - 1] = ty;
            }
        }
    })
}

/// The value of `$number` if the current execution has bound one (EXPLAIN
/// prints it, as PostgreSQL's custom plans show their parameters' values).
pub(crate) fn bound_value(number: usize) -> Option<Datum> {
    VALUES.with(|v| {
        number
            .checked_sub(1)
            .and_then(|i| v.borrow().get(i).cloned())
    })
}

/// The value of `$number` in the current execution.
pub(crate) fn value(number: usize) -> Datum {
    VALUES.with(|v| {
        v.borrow()
            .get(number.wrapping_sub(1))
            .cloned()
            .unwrap_or(Datum::Null)
    })
}
