//! EXPLAIN's four output formats (PostgreSQL's `ExplainProperty*`,
//! `ExplainOpenGroup` and the text branches of `ExplainNode`).
//!
//! TEXT is PostgreSQL's layout: a node's line, then its properties one
//! level deeper, children behind `->  ` two levels deeper, InitPlan,
//! SubPlan and CTE names on a line of their own. JSON, YAML and XML share
//! one walk over the properties in PostgreSQL's order and key names
//! (`Node Type`, `Startup Cost`, `Actual Rows`, `Shared Hit Blocks`...),
//! which is what tools reading EXPLAIN output key on.

use super::tree::{ExplNode, Prop, quote_ident};
use super::{ExplainFormat, ExplainOptions};

/// The statement-level parts after the plan.
#[derive(Default)]
pub struct Summary {
    pub settings: Vec<(String, String)>,
    pub planning_ms: Option<f64>,
    pub execution_ms: Option<f64>,
    /// Triggers are listed (as an empty list) under ANALYZE.
    pub triggers: bool,
}

// --- TEXT -------------------------------------------------------------------

pub fn text(root: &ExplNode, o: &ExplainOptions, s: &Summary) -> String {
    let mut out = String::new();
    text_node(root, 0, o, &mut out);
    if !s.settings.is_empty() {
        let items: Vec<String> = s
            .settings
            .iter()
            .map(|(k, v)| format!("{k} = '{}'", v.replace('\'', "''")))
            .collect();
        out.push_str(&format!("Settings: {}\n", items.join(", ")));
    }
    if let Some(ms) = s.planning_ms {
        out.push_str(&format!("Planning Time: {ms:.3} ms\n"));
    }
    if let Some(ms) = s.execution_ms {
        out.push_str(&format!("Execution Time: {ms:.3} ms\n"));
    }
    out
}

fn spaces(indent: usize) -> String {
    " ".repeat(indent * 2)
}

fn text_node(n: &ExplNode, mut indent: usize, o: &ExplainOptions, out: &mut String) {
    if let Some(name) = &n.subplan_name {
        out.push_str(&format!("{}{name}\n", spaces(indent)));
        indent += 1;
    }
    if indent > 0 {
        out.push_str(&format!("{}->  ", spaces(indent)));
        indent += 2;
    }
    out.push_str(&n.text_name);
    if let Some(t) = &n.target {
        let name = if t.name_key.is_some() {
            let base = quote_ident(&t.name);
            match (&t.schema, o.verbose) {
                (Some(s), true) => format!("{}.{base}", quote_ident(s)),
                _ => base,
            }
        } else {
            quote_ident(&t.alias)
        };
        out.push_str(&format!(" on {name}"));
        if t.name_key.is_some() && t.alias != t.name {
            out.push_str(&format!(" {}", quote_ident(&t.alias)));
        }
    }
    if o.costs {
        out.push_str(&format!(
            "  (cost={:.2}..{:.2} rows={:.0} width={})",
            n.est.startup, n.est.total, n.est.rows, n.est.width
        ));
    }
    if o.analyze {
        match &n.actual {
            Some(a) if a.executed() => {
                let loops = a.nloops as f64;
                let rows = a.ntuples as f64 / loops;
                if o.timing {
                    out.push_str(&format!(
                        " (actual time={:.3}..{:.3} rows={rows:.0} loops={})",
                        a.startup.as_secs_f64() * 1000.0 / loops,
                        a.total.as_secs_f64() * 1000.0 / loops,
                        a.nloops
                    ));
                } else {
                    out.push_str(&format!(" (actual rows={rows:.0} loops={})", a.nloops));
                }
            }
            _ => out.push_str(" (never executed)"),
        }
    }
    out.push('\n');
    indent += 1;
    let line = |out: &mut String, k: &str, v: &str| {
        out.push_str(&format!("{}{k}: {v}\n", spaces(indent)));
    };
    if o.verbose && !n.output.is_empty() {
        line(out, "Output", &n.output.join(", "));
    }
    for (k, v) in &n.props {
        match (k, v) {
            (&"Inner Unique", _) => {}
            (_, Prop::Text(t)) => line(out, k, t),
            (_, Prop::List(l)) => line(out, k, &l.join(", ")),
            (_, Prop::Bool(b)) => line(out, k, &b.to_string()),
        }
    }
    if let Some((method, kb, kind)) = n.sort_method {
        line(out, "Sort Method", &format!("{method}  {kind}: {kb}kB"));
    }
    for f in &n.filters {
        line(out, "Filter", f);
    }
    if o.analyze
        && let (Some(r), Some(a)) = (n.removed_by_filter, &n.actual)
        && r > 0
        && a.nloops > 0
    {
        line(
            out,
            "Rows Removed by Filter",
            &format!("{:.0}", r as f64 / a.nloops as f64),
        );
    }
    if let Some(a) = &n.actual {
        if o.buffers {
            // `shared hit=.. read=..`, `temp read=.. written=..`: the nonzero ones.
            let group = |kind: &str, names: &[&str], vals: &[u64]| -> Option<String> {
                let parts: Vec<String> = names
                    .iter()
                    .zip(vals)
                    .filter(|(_, v)| **v > 0)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                (!parts.is_empty()).then(|| format!("{kind} {}", parts.join(" ")))
            };
            let groups: Vec<String> = [
                group(
                    "shared",
                    &["hit", "read", "dirtied", "written"],
                    &a.buffers[..4],
                ),
                group("temp", &["read", "written"], &a.buffers[4..]),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !groups.is_empty() {
                line(out, "Buffers", &groups.join(", "));
            }
        }
        if o.wal {
            let parts: Vec<String> = ["records", "fpi", "bytes"]
                .iter()
                .zip(a.wal)
                .filter(|(_, v)| *v > 0)
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if !parts.is_empty() {
                line(out, "WAL", &parts.join(" "));
            }
        }
    }
    for c in &n.children {
        text_node(c, indent, o, out);
    }
}

// --- JSON, YAML, XML --------------------------------------------------------

/// A structured value: scalars (already in the format's number or string
/// form), lists of strings, nested groups.
enum Val {
    Str(String),
    Num(String),
    Bool(bool),
    List(Vec<String>),
    Group(Vec<(String, Val)>),
    Plans(Vec<Vec<(String, Val)>>),
    EmptyList,
}

fn node_group(n: &ExplNode, o: &ExplainOptions) -> Vec<(String, Val)> {
    let mut g: Vec<(String, Val)> = Vec::new();
    let s = |v: &str| Val::Str(v.to_string());
    g.push(("Node Type".into(), s(n.node_type)));
    for (k, v) in &n.head {
        g.push((k.to_string(), prop(v)));
    }
    if let Some(r) = n.parent_relationship {
        g.push(("Parent Relationship".into(), s(r)));
    }
    if let Some(name) = &n.subplan_name {
        g.push(("Subplan Name".into(), s(name)));
    }
    g.push(("Parallel Aware".into(), Val::Bool(false)));
    g.push(("Async Capable".into(), Val::Bool(false)));
    if let Some(t) = &n.target {
        if let Some(k) = t.name_key {
            g.push((k.into(), s(&t.name)));
            if o.verbose
                && let Some(schema) = &t.schema
            {
                g.push(("Schema".into(), s(schema)));
            }
        }
        g.push(("Alias".into(), s(&t.alias)));
    }
    for (k, v) in &n.kind_props {
        g.push((k.to_string(), prop(v)));
    }
    if o.costs {
        g.push((
            "Startup Cost".into(),
            Val::Num(format!("{:.2}", n.est.startup)),
        ));
        g.push(("Total Cost".into(), Val::Num(format!("{:.2}", n.est.total))));
        g.push(("Plan Rows".into(), Val::Num(format!("{:.0}", n.est.rows))));
        g.push(("Plan Width".into(), Val::Num(n.est.width.to_string())));
    }
    if o.analyze {
        let a = n.actual.clone().unwrap_or_default();
        let loops = a.nloops.max(1) as f64;
        let executed = a.executed();
        if o.timing {
            let (st, tt) = if executed {
                (
                    a.startup.as_secs_f64() * 1000.0 / loops,
                    a.total.as_secs_f64() * 1000.0 / loops,
                )
            } else {
                (0.0, 0.0)
            };
            g.push(("Actual Startup Time".into(), Val::Num(format!("{st:.3}"))));
            g.push(("Actual Total Time".into(), Val::Num(format!("{tt:.3}"))));
        }
        let rows = if executed {
            a.ntuples as f64 / loops
        } else {
            0.0
        };
        g.push(("Actual Rows".into(), Val::Num(format!("{rows:.0}"))));
        g.push(("Actual Loops".into(), Val::Num(a.nloops.to_string())));
    }
    if o.verbose && !n.output.is_empty() {
        g.push(("Output".into(), Val::List(n.output.clone())));
    }
    for (k, v) in &n.props {
        g.push((k.to_string(), prop(v)));
    }
    if let Some((method, kb, kind)) = n.sort_method {
        g.push(("Sort Method".into(), s(method)));
        g.push(("Sort Space Used".into(), Val::Num(kb.to_string())));
        g.push(("Sort Space Type".into(), s(kind)));
    }
    for f in &n.filters {
        g.push(("Filter".into(), s(f)));
    }
    if o.analyze && !n.filters.is_empty() {
        let a = n.actual.clone().unwrap_or_default();
        let removed = n.removed_by_filter.unwrap_or(0) as f64 / a.nloops.max(1) as f64;
        g.push((
            "Rows Removed by Filter".into(),
            Val::Num(format!("{removed:.0}")),
        ));
    }
    if o.analyze {
        let a = n.actual.clone().unwrap_or_default();
        if o.buffers {
            for (k, v) in [
                "Shared Hit Blocks",
                "Shared Read Blocks",
                "Shared Dirtied Blocks",
                "Shared Written Blocks",
            ]
            .iter()
            .zip(a.buffers)
            {
                g.push((k.to_string(), Val::Num(v.to_string())));
            }
            // No temporary tables: no local buffers.
            for k in [
                "Local Hit Blocks",
                "Local Read Blocks",
                "Local Dirtied Blocks",
                "Local Written Blocks",
            ] {
                g.push((k.to_string(), Val::Num("0".into())));
            }
            for (k, v) in ["Temp Read Blocks", "Temp Written Blocks"]
                .iter()
                .zip(&a.buffers[4..])
            {
                g.push((k.to_string(), Val::Num(v.to_string())));
            }
        }
        if o.wal {
            for (k, v) in ["WAL Records", "WAL FPI", "WAL Bytes"].iter().zip(a.wal) {
                g.push((k.to_string(), Val::Num(v.to_string())));
            }
        }
    }
    if !n.children.is_empty() {
        g.push((
            "Plans".into(),
            Val::Plans(n.children.iter().map(|c| node_group(c, o)).collect()),
        ));
    }
    g
}

fn prop(p: &Prop) -> Val {
    match p {
        Prop::Text(t) => Val::Str(t.clone()),
        Prop::List(l) => Val::List(l.clone()),
        Prop::Bool(b) => Val::Bool(*b),
    }
}

fn query_group(root: &ExplNode, o: &ExplainOptions, s: &Summary) -> Vec<(String, Val)> {
    let mut q = vec![("Plan".to_string(), Val::Group(node_group(root, o)))];
    if !s.settings.is_empty() {
        q.push((
            "Settings".into(),
            Val::Group(
                s.settings
                    .iter()
                    .map(|(k, v)| (k.clone(), Val::Str(v.clone())))
                    .collect(),
            ),
        ));
    }
    if let Some(ms) = s.planning_ms {
        q.push(("Planning Time".into(), Val::Num(format!("{ms:.3}"))));
    }
    if s.triggers {
        q.push(("Triggers".into(), Val::EmptyList));
    }
    if let Some(ms) = s.execution_ms {
        q.push(("Execution Time".into(), Val::Num(format!("{ms:.3}"))));
    }
    q
}

pub fn structured(root: &ExplNode, o: &ExplainOptions, s: &Summary) -> String {
    let q = query_group(root, o, s);
    let mut out = String::new();
    match o.format {
        ExplainFormat::Json => {
            out.push_str("[\n  {\n");
            json_members(&q, 2, &mut out);
            out.push_str("\n  }\n]");
        }
        ExplainFormat::Yaml => {
            out.push_str("- ");
            yaml_members(&q, 1, true, &mut out);
        }
        ExplainFormat::Xml => {
            out.push_str("<explain xmlns=\"http://www.postgresql.org/2009/explain\">\n  <Query>\n");
            xml_members(&q, 2, &mut out);
            out.push_str("  </Query>\n</explain>");
        }
        ExplainFormat::Text => unreachable!("text is rendered by `text`"),
    }
    out
}

pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_members(g: &[(String, Val)], level: usize, out: &mut String) {
    let pad = "  ".repeat(level);
    for (i, (k, v)) in g.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str(&format!("{pad}{}: ", json_string(k)));
        match v {
            Val::Str(s) => out.push_str(&json_string(s)),
            Val::Num(n) => out.push_str(n),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::List(items) => {
                out.push('[');
                for (j, it) in items.iter().enumerate() {
                    out.push_str(if j == 0 { "" } else { ", " });
                    out.push_str(&json_string(it));
                }
                out.push(']');
            }
            Val::EmptyList => out.push_str(&format!("[\n{pad}]")),
            Val::Group(inner) => {
                out.push_str("{\n");
                json_members(inner, level + 1, out);
                out.push_str(&format!("\n{pad}}}"));
            }
            Val::Plans(plans) => {
                out.push_str("[\n");
                for (j, p) in plans.iter().enumerate() {
                    if j > 0 {
                        out.push_str(",\n");
                    }
                    out.push_str(&format!("{pad}  {{\n"));
                    json_members(p, level + 2, out);
                    out.push_str(&format!("\n{pad}  }}"));
                }
                out.push_str(&format!("\n{pad}]"));
            }
        }
    }
}

/// YAML scalars: numbers and booleans bare, strings in double quotes
/// (PostgreSQL's `escape_yaml` quotes every string).
fn yaml_members(g: &[(String, Val)], level: usize, first_inline: bool, out: &mut String) {
    let pad = "  ".repeat(level);
    for (i, (k, v)) in g.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(&format!("{k}: "));
        match v {
            Val::Str(s) => out.push_str(&json_string(s)),
            Val::Num(n) => out.push_str(n),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::List(items) => {
                for it in items {
                    out.push_str(&format!("\n{pad}  - {}", json_string(it)));
                }
            }
            Val::EmptyList => {}
            Val::Group(inner) => yaml_members(inner, level + 1, false, out),
            Val::Plans(plans) => {
                for p in plans {
                    out.push_str(&format!("\n{pad}  - "));
                    yaml_members(p, level + 2, true, out);
                }
            }
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_members(g: &[(String, Val)], level: usize, out: &mut String) {
    let pad = "  ".repeat(level);
    for (k, v) in g {
        let tag = k.replace(' ', "-");
        match v {
            Val::Str(s) => out.push_str(&format!("{pad}<{tag}>{}</{tag}>\n", xml_escape(s))),
            Val::Num(n) => out.push_str(&format!("{pad}<{tag}>{n}</{tag}>\n")),
            Val::Bool(b) => out.push_str(&format!("{pad}<{tag}>{b}</{tag}>\n")),
            Val::List(items) => {
                out.push_str(&format!("{pad}<{tag}>\n"));
                for it in items {
                    out.push_str(&format!("{pad}  <Item>{}</Item>\n", xml_escape(it)));
                }
                out.push_str(&format!("{pad}</{tag}>\n"));
            }
            Val::EmptyList => out.push_str(&format!("{pad}<{tag}>\n{pad}</{tag}>\n")),
            Val::Group(inner) => {
                out.push_str(&format!("{pad}<{tag}>\n"));
                xml_members(inner, level + 1, out);
                out.push_str(&format!("{pad}</{tag}>\n"));
            }
            Val::Plans(plans) => {
                out.push_str(&format!("{pad}<{tag}>\n"));
                for p in plans {
                    out.push_str(&format!("{pad}  <Plan>\n"));
                    xml_members(p, level + 2, out);
                    out.push_str(&format!("{pad}  </Plan>\n"));
                }
                out.push_str(&format!("{pad}</{tag}>\n"));
            }
        }
    }
}
