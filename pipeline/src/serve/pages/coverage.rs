//! The coverage page: every control of one framework with its status, filtered by status;
//! a switch between the frameworks the run mapped.

use super::*;

#[derive(Debug, Deserialize)]
pub(in crate::serve) struct CoverageQuery {
    /// `gaps` or `pending`.
    show: Option<String>,
    /// A framework's ID; the primary one when absent.
    framework: Option<String>,
}

/// `GET /`: the controls by objective, coloured by status, with counts; filters for gaps and
/// for controls with suggestions waiting for review.
pub(in crate::serve) async fn coverage(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(q): Query<CoverageQuery>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let report = reviewed_report(state.workspace())?;
        let (_, items) = load_items(&state)?;
        let mut pending: HashMap<&str, usize> = HashMap::new();
        for i in items.iter().filter(|i| i.status == Status::Pending) {
            *pending.entry(i.control.as_str()).or_default() += 1;
        }
        let show = q.show.as_deref().unwrap_or("all");
        let views = report.framework_views();
        let view = match &q.framework {
            None => &views[0],
            Some(id) => views
                .iter()
                .find(|v| v.info.id == *id)
                .ok_or_else(|| AppError::not_found(format!("no framework {id} in this report")))?,
        };
        let here = |key: &str| {
            let mut url = format!("/?show={key}");
            if !view.primary {
                url.push_str(&format!("&framework={}", enc(&view.info.id)));
            }
            url
        };
        let shown = |c: &crate::report::ControlEntry| match show {
            "gaps" => c.coverage == Coverage::Gap,
            "pending" => c.coverage != Coverage::NotApplicable && pending.contains_key(c.id.as_str()),
            _ => true,
        };
        let body = html! {
            h1 { (title_of(&report, view)) }
            @if views.len() > 1 {
                nav.frameworks aria-label="Frameworks" {
                    @for v in &views {
                        @let url = if v.primary {
                            format!("/?show={show}")
                        } else {
                            format!("/?show={show}&framework={}", enc(&v.info.id))
                        };
                        a href=(url) class=[(v.info.id == view.info.id).then_some("current")]
                            data-framework=(v.info.id) { (v.info.name) }
                    }
                }
            }
            p.meta {
                "Policy folder " b { (report.policy_folder) } " · "
                (report.files.found) " files, " (report.files.passages) " passages · "
                (view.controls().count()) " controls"
                @if let Some(x) = &view.info.crosswalk { " · crosswalk: " (x) }
            }
            @if let Some(a) = view.agreement {
                p.meta {
                    "Direct mapping and crosswalk: both find evidence for " (a.both)
                    ", neither for " (a.neither) ", only direct for " (a.direct_only)
                    ", only crosswalk for " (a.crosswalk_only)
                }
            }
            @if let Some(how) = crate::report::html::how_mapped(&report) {
                p.meta { (how) }
            }
            section.summary {
                @for c in Coverage::ALL {
                    div class={ "card " (c.key()) } {
                        div.n { (view.coverage.get(c)) }
                        div.l { (c.label()) }
                    }
                }
                div.card.pending {
                    div.n { (pending.values().sum::<usize>()) }
                    div.l { "suggestions to review" }
                }
            }
            nav.filters {
                "Show: "
                @for (key, label) in [("all", "all controls"), ("gaps", "gaps"), ("pending", "pending review")] {
                    a href=(here(key)) class=[(key == show).then_some("here")] { (label) }
                }
            }
            div.legend { @for c in Coverage::ALL { span class=(c.key()) { (c.label()) } } }
            @for o in view.objectives {
                @let controls: Vec<_> = o.controls.iter().filter(|c| shown(c)).collect();
                @if !controls.is_empty() {
                    div.objective {
                        div.name {
                            b { (o.id) } (o.title)
                            span.counts {
                                @for c in Coverage::ALL {
                                    @if o.coverage.get(c) > 0 {
                                        span class=(c.key()) { (o.coverage.get(c)) " " (c.label()) }
                                    }
                                }
                            }
                        }
                        div.cells {
                            @for c in controls {
                                a class={ "cell " (c.coverage.key()) } href={ "/control/" (enc(&c.id)) }
                                    title={ (c.id) " " (c.title) ": " (c.coverage.label()) } {
                                    span.id { (c.id) }
                                    (c.title)
                                    span.status {
                                        (c.coverage.label())
                                        @if c.coverage_from == Some(crate::report::CoverageSource::Crosswalk) {
                                            " (crosswalk)"
                                        }
                                    }
                                    @if let Some(n) = pending.get(c.id.as_str()) {
                                        span.pending { (n) " to review" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(page(layout(Some(&ctx), "coverage", "Coverage", body)))
    })
    .await
}

fn title_of(report: &Report, view: &crate::report::FrameworkView<'_>) -> String {
    if !view.primary {
        format!("{} coverage", view.info.name)
    } else if report.catalog.is_empty() {
        "Controls coverage".to_string()
    } else {
        format!("{} coverage", report.catalog)
    }
}
