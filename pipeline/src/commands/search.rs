//! `controlmap search`: the auditor's hybrid search by free text or by control
//! ([`crate::search::Engine`]), printed for people or as JSON Lines.

use std::io::Write;

use anyhow::Result;
use controlmap_index::{Filters, Fusion};

use crate::{
    cli::{Cli, Format, FusionChoice, SearchArgs},
    frameworks::Frameworks,
    messages::printable,
    search::{Engine, Query, query_for, workspace_precision},
    workspace::{self, Needs},
};

pub fn run(args: &SearchArgs, cli: &Cli) -> Result<()> {
    let ws = workspace::find(args.workspace.as_deref(), Needs::Index)?;
    let catalog = Frameworks::for_workspace(
        &crate::report::Report::recorded_catalogs(&ws),
        &args.catalog,
    )?
    .combined();
    // A bad query is the user's mistake: say so before loading the model.
    query_for(args.query.as_deref(), args.control.as_deref(), &catalog)?;
    // auto follows the precision the workspace's vectors were made in.
    let (model, _) = args
        .model
        .load_from(&args.model.locate()?, workspace_precision(&ws))?;
    let engine = Engine::open(&ws, catalog, Box::new(model))?;
    let results = engine.search(&Query {
        text: args.query.clone(),
        control: args.control.clone(),
        filters: Filters {
            folder: args.folder.clone().map(|f| f.trim_matches('/').to_string()),
            format: args.file_format.clone(),
            document: args.document.clone(),
        },
        limit: args.limit,
        fusion: args.fusion.into(),
    })?;

    let mut out = std::io::stdout().lock();
    let color = cli.color.enabled();
    if results.is_empty() && !cli.quiet {
        eprintln!("no passage matches");
    }
    for r in &results {
        match args.format {
            Format::Json => writeln!(out, "{}", serde_json::to_string(r)?)?,
            Format::Text => {
                let page = r.page.map(|p| format!(" p.{p}")).unwrap_or_default();
                let decided = r
                    .decision
                    .as_deref()
                    .map(|d| format!(" [{d}]"))
                    .unwrap_or_default();
                let overdue = if r.document_status.as_deref() == Some("overdue") {
                    " [document overdue for review]"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{:>2}. {}{page} › {}{}{overdue}",
                    r.rank,
                    printable(&r.document),
                    printable(&r.heading),
                    printable(&decided)
                )?;
                writeln!(
                    out,
                    "    score {:.4} (bm25 {}, cosine {})",
                    r.score,
                    r.bm25
                        .map(|s| format!("{s:.2}"))
                        .unwrap_or_else(|| "-".into()),
                    r.cosine
                        .map(|s| format!("{s:.3}"))
                        .unwrap_or_else(|| "-".into())
                )?;
                writeln!(out, "    {}", mark(&r.snippet, &r.highlights, color))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Bold (ANSI) for the highlighted ranges when colour is on, `**word**` otherwise.
fn mark(text: &str, ranges: &[(usize, usize)], color: bool) -> String {
    let (open, close) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("**", "**")
    };
    let mut out = String::with_capacity(text.len() + ranges.len() * 8);
    let mut at = 0;
    for &(a, b) in ranges {
        if a < at || b > text.len() {
            continue;
        }
        out.push_str(&printable(&text[at..a]));
        out.push_str(open);
        out.push_str(&printable(&text[a..b]));
        out.push_str(close);
        at = b;
    }
    out.push_str(&printable(&text[at..]));
    out
}

impl From<FusionChoice> for Fusion {
    fn from(f: FusionChoice) -> Self {
        match f {
            FusionChoice::Rrf => Fusion::default(),
            FusionChoice::Weighted => crate::search::WEIGHTED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_ranges() {
        assert_eq!(
            mark("model drift is watched", &[(6, 11)], false),
            "model **drift** is watched"
        );
        assert_eq!(mark("a\nb", &[], true), "a b");
    }
}
