//! The review queue: one suggestion at a time, in the terminal queue's order.

use super::*;

#[derive(Debug, Deserialize)]
pub(in crate::serve) struct ReviewQuery {
    /// How many items of the queue to pass over (skipped ones).
    skip: Option<usize>,
}

/// `GET /review`: one suggestion at a time, in the terminal queue's order.
pub(in crate::serve) async fn review(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let ws = ReviewWorkspace::load(state.workspace())?;
        let items = ordered_items(&ws, &store(&state)?)?;
        let skip = q.skip.unwrap_or(0).min(items.len());
        let can_undo = state
            .undo
            .lock()
            .expect("the undo stacks are never left half-written")
            .get(&ctx.session.reviewer)
            .is_some_and(|s| !s.is_empty());
        let back = if skip == 0 { "/review".to_string() } else { format!("/review?skip={skip}") };
        let body = html! {
            h1 { "Review queue" }
            p.meta {
                (items.len()) " suggestions to review"
                @if skip > 0 { " · " (skip) " skipped" }
                " · most useful first: controls without accepted evidence, the mapper's gaps and weak controls, then by confidence"
            }
            @match items.get(skip) {
                Some(item) => {
                    @let control = state.catalog.control(&item.control);
                    @let title = ws.controls.iter().find(|c| c.id == item.control).map(|c| c.title.as_str()).unwrap_or("");
                    article.queue-item {
                        h2 {
                            a href={ "/control/" (enc(&item.control)) } { (item.control) " " (title) }
                        }
                        (evidence(&ctx, item, control, &back, true))
                        div.queue-nav {
                            @if skip > 0 {
                                a href={ "/review?skip=" (skip - 1) } { "Previous" }
                            }
                            a.skip href={ "/review?skip=" (skip + 1) } data-key="s" { "Skip " kbd { "s" } }
                            @if !ctx.read_only {
                                form.act.undo method="post" action="/undo" {
                                    (hidden("csrf", &ctx.session.csrf))
                                    (hidden("back", &back))
                                    button type="submit" data-key="u" disabled[!can_undo] { "Undo " kbd { "u" } }
                                }
                            }
                        }
                        p.keys { "Keys: " kbd { "a" } " accept · " kbd { "r" } " reject · " kbd { "c" } " comment · " kbd { "s" } " skip · " kbd { "u" } " undo" }
                    }
                }
                None => {
                    p.note {
                        @if items.is_empty() { "Nothing left to review." }
                        @else { "End of the queue. " a href="/review" { "Back to the start" } " for the skipped ones." }
                    }
                    @if !ctx.read_only && can_undo {
                        form.act.undo method="post" action="/undo" {
                            (hidden("csrf", &ctx.session.csrf))
                            (hidden("back", &back))
                            button type="submit" data-key="u" { "Undo " kbd { "u" } }
                        }
                    }
                }
            }
        };
        Ok(page(layout(Some(&ctx), "review", "Review queue", body)))
    })
    .await
}
